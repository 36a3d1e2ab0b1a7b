// First-word-fall-through AXI-Stream FIFO, any DEPTH >= 2 (not only powers of two).
//
// Full throughput: a beat in and a beat out in the same cycle, from empty to full.
// s_axis_tready and m_axis_tvalid come from flops; `count` is the occupancy (accepted, not yet
// delivered beats), 0..DEPTH.
//
// Two implementations, chosen by DEPTH:
//   DEPTH <= 32: DEPTH words with an asynchronous read (flops / LUT RAM); latency 1 (a beat
//                written into an empty FIFO is on m_axis the next cycle).
//   DEPTH >  32: DEPTH-1 words of RAM plus the RAM's own read register as output register.
//                Keeping that register free of bypass muxes is what lets synthesis map the
//                memory to block RAM; the price is latency 2 from empty.
module stream_fifo #(
  parameter int unsigned WIDTH = 8,
  parameter int unsigned DEPTH = 16,
  localparam int unsigned CountBits = $clog2(DEPTH + 1)
) (
  input  logic                 ap_clk,
  input  logic                 ap_rst_n,
  input  logic [WIDTH-1:0]     s_axis_tdata,
  input  logic                 s_axis_tvalid,
  output logic                 s_axis_tready,
  output logic [WIDTH-1:0]     m_axis_tdata,
  output logic                 m_axis_tvalid,
  input  logic                 m_axis_tready,
  output logic [CountBits-1:0] count
);
  localparam bit          SyncRead = DEPTH > 32;
  localparam int unsigned MemDepth = SyncRead ? DEPTH - 1 : DEPTH;
  localparam int unsigned AddrBits = MemDepth > 1 ? $clog2(MemDepth) : 1;
  localparam logic [AddrBits-1:0] LastAddr = AddrBits'(MemDepth - 1);

  logic [WIDTH-1:0]     mem [MemDepth];
  logic [AddrBits-1:0]  wr_ptr_q, rd_ptr_q;
  logic [CountBits-1:0] count_q;
  logic                 push, pop, rd_en;

  assign s_axis_tready = count_q != CountBits'(DEPTH);
  assign push          = s_axis_tvalid && s_axis_tready;
  assign pop           = m_axis_tvalid && m_axis_tready;

  always_ff @(posedge ap_clk) begin
    if (push) mem[wr_ptr_q] <= s_axis_tdata;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
      count_q  <= '0;
    end else begin
      if (push) wr_ptr_q <= (wr_ptr_q == LastAddr) ? '0 : wr_ptr_q + 1'b1;
      if (rd_en) rd_ptr_q <= (rd_ptr_q == LastAddr) ? '0 : rd_ptr_q + 1'b1;
      count_q <= count_q + CountBits'(push) - CountBits'(pop);
    end
  end

  if (SyncRead) begin : g_sync
    logic [CountBits-1:0] mem_count_q;  // words in mem not yet moved to the output register
    logic                 out_valid_q;
    logic [WIDTH-1:0]     out_q;

    // Refill the output register from mem whenever it is empty or being emptied. Push and
    // rd_en never touch the same word: out_valid_q is clear only while mem holds <= 1 word.
    assign rd_en = (mem_count_q != '0) && (!out_valid_q || m_axis_tready);

    always_ff @(posedge ap_clk) begin
      if (rd_en) out_q <= mem[rd_ptr_q];
    end

    always_ff @(posedge ap_clk) begin
      if (!ap_rst_n) begin
        mem_count_q <= '0;
        out_valid_q <= 1'b0;
      end else begin
        mem_count_q <= mem_count_q + CountBits'(push) - CountBits'(rd_en);
        if (rd_en) begin
          out_valid_q <= 1'b1;
        end else if (pop) begin
          out_valid_q <= 1'b0;
        end
      end
    end

    assign m_axis_tdata  = out_q;
    assign m_axis_tvalid = out_valid_q;
  end else begin : g_async
    assign rd_en         = pop;
    // Stable under backpressure: rd_ptr_q holds and a push never writes the head word.
    assign m_axis_tdata  = mem[rd_ptr_q];
    assign m_axis_tvalid = count_q != '0;
  end

  assign count = count_q;
endmodule
