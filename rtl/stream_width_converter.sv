// Re-beats a flat element stream: IN_ELEMS -> OUT_ELEMS elements of EBITS bits per beat.
//
// One count must divide the other. Element order is preserved, element 0 in the LSBs first.
//   equal : wires (no latency, no state).
//   down  : one input beat becomes IN/OUT output beats, shifted out LSBs first. A second input
//           register lets the next beat arrive while the current one drains: full output rate.
//   up    : IN/... OUT/IN input beats are shifted in from the top; the last one goes with them
//           straight into the output register: full input rate.
// s_axis_tready and m_axis_tvalid come from flops in both converting modes.
module stream_width_converter #(
  parameter int unsigned IN_ELEMS  = 4,
  parameter int unsigned OUT_ELEMS = 2,
  parameter int unsigned EBITS     = 1
) (
  input  logic                      ap_clk,
  input  logic                      ap_rst_n,
  input  logic [IN_ELEMS*EBITS-1:0]  s_axis_tdata,
  input  logic                      s_axis_tvalid,
  output logic                      s_axis_tready,
  output logic [OUT_ELEMS*EBITS-1:0] m_axis_tdata,
  output logic                      m_axis_tvalid,
  input  logic                      m_axis_tready
);
  localparam int unsigned InW  = IN_ELEMS * EBITS;
  localparam int unsigned OutW = OUT_ELEMS * EBITS;

  if (IN_ELEMS == OUT_ELEMS) begin : g_pass
    assign m_axis_tdata  = s_axis_tdata;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;
    logic unused;
    assign unused = ^{ap_clk, ap_rst_n};

  end else if (IN_ELEMS > OUT_ELEMS) begin : g_down
    localparam int unsigned Ratio = IN_ELEMS / OUT_ELEMS;
    localparam int unsigned IBits = $clog2(Ratio);
    localparam logic [IBits-1:0] LastI = IBits'(Ratio - 1);

    logic [InW-1:0]   cur_q, nxt_q;
    logic             cur_valid_q, nxt_valid_q;
    logic [IBits-1:0] i_q;
    logic             pop, push, cur_free;

    assign s_axis_tready = !nxt_valid_q;
    assign push          = s_axis_tvalid && !nxt_valid_q;
    assign pop           = cur_valid_q && m_axis_tready;
    assign cur_free      = !cur_valid_q || (pop && (i_q == LastI));

    always_ff @(posedge ap_clk) begin
      if (!ap_rst_n) begin
        cur_valid_q <= 1'b0;
        nxt_valid_q <= 1'b0;
        i_q         <= '0;
      end else if (cur_free) begin
        i_q <= '0;
        // With nxt full, s_axis_tready is low, so nxt and a new beat never compete.
        cur_valid_q <= nxt_valid_q || push;
        nxt_valid_q <= 1'b0;
      end else begin
        if (pop) i_q <= i_q + 1'b1;
        if (push) nxt_valid_q <= 1'b1;
      end
    end

    always_ff @(posedge ap_clk) begin
      if (cur_free) begin
        cur_q <= nxt_valid_q ? nxt_q : s_axis_tdata;
      end else if (pop) begin
        cur_q <= cur_q >> OutW;
      end
      if (!cur_free && push) nxt_q <= s_axis_tdata;
    end

    assign m_axis_tdata  = cur_q[OutW-1:0];
    assign m_axis_tvalid = cur_valid_q;

  end else begin : g_up
    localparam int unsigned Ratio = OUT_ELEMS / IN_ELEMS;
    localparam int unsigned IBits = $clog2(Ratio);
    localparam int unsigned AsmW  = (Ratio - 1) * InW;
    localparam logic [IBits-1:0] LastI = IBits'(Ratio - 1);

    logic [AsmW-1:0]  asm_q;   // the first Ratio-1 beats, oldest in the LSBs
    logic [OutW-1:0]  out_q;
    logic             out_valid_q;
    logic [IBits-1:0] i_q;
    logic             push, pop, last;
    logic [OutW-1:0]  joined;

    assign last          = i_q == LastI;
    // Only the completing beat needs the output register; the test uses flops only.
    assign s_axis_tready = !(last && out_valid_q);
    assign push          = s_axis_tvalid && s_axis_tready;
    assign pop           = out_valid_q && m_axis_tready;
    assign joined        = {s_axis_tdata, asm_q};

    always_ff @(posedge ap_clk) begin
      if (!ap_rst_n) begin
        i_q         <= '0;
        out_valid_q <= 1'b0;
      end else begin
        if (push) i_q <= last ? '0 : i_q + 1'b1;
        if (push && last) begin
          out_valid_q <= 1'b1;
        end else if (pop) begin
          out_valid_q <= 1'b0;
        end
      end
    end

    always_ff @(posedge ap_clk) begin
      if (push && !last) asm_q <= joined[OutW-1:InW];
      if (push && last) out_q <= joined;
    end

    assign m_axis_tdata  = out_q;
    assign m_axis_tvalid = out_valid_q;
  end
endmodule
