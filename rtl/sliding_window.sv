// K x K sliding-window generator: stride 1, no padding, HWC raster input.
//
// Input: IFM_H x IFM_W pixels of CHANNELS elements, CF = CHANNELS/SIMD beats per pixel.
// Output: for each of the OFM_H x OFM_W output pixels (OFM = IFM - K + 1), in raster order,
// K*K*CF beats in (ky, kx, channel group) order -- the MVTU column order.
//
// Storage is a circular line buffer of K+1 rows (one RAM, synchronous read). Rows are counted
// continuously across images: `rel_q` = (row being written) - (first row of the current output
// row). The writer may write while rel_q <= K (the slot it overwrites is then no longer used);
// the reader may read row ky of the window once it is complete (ky < rel_q), or its leading
// beats once written (ky == rel_q, column index < wcol_q). After the last output row of an image
// the reader skips K rows, so the next image's rows flow in while the previous image's last
// windows are emitted; neither side waits on the other except through rel_q, so there is no
// deadlock.
//
// Throughput: one output beat per cycle while the needed rows are present; one input beat per
// cycle while the writer is at most K rows ahead. The reader stalls for about (K-1) rows of input
// at the start of each image (K+1 rows hold only one row of the next image).
// Latency: a readable beat reaches m_axis 2 cycles after it is issued.
module sliding_window #(
  parameter int unsigned K        = 3,
  parameter int unsigned IFM_H    = 8,
  parameter int unsigned IFM_W    = 8,
  parameter int unsigned CHANNELS = 4,
  parameter int unsigned SIMD     = 2,
  parameter int unsigned EBITS    = 1
) (
  input  logic                  ap_clk,
  input  logic                  ap_rst_n,
  input  logic [SIMD*EBITS-1:0] s_axis_tdata,
  input  logic                  s_axis_tvalid,
  output logic                  s_axis_tready,
  output logic [SIMD*EBITS-1:0] m_axis_tdata,
  output logic                  m_axis_tvalid,
  input  logic                  m_axis_tready
);
  localparam int unsigned Width    = SIMD * EBITS;
  localparam int unsigned CF       = CHANNELS / SIMD;
  localparam int unsigned OfmH     = IFM_H - K + 1;
  localparam int unsigned OfmW     = IFM_W - K + 1;
  localparam int unsigned RowBeats = IFM_W * CF;
  localparam int unsigned WinRow   = K * CF;          // beats of one window row
  localparam int unsigned Rows     = K + 1;
  localparam int unsigned Depth    = Rows * RowBeats;

  localparam int unsigned AddrBits = Depth > 1 ? $clog2(Depth) : 1;
  localparam int unsigned ColBits  = $clog2(RowBeats + 1);  // also holds RowBeats itself
  localparam int unsigned JBits    = WinRow > 1 ? $clog2(WinRow) : 1;
  localparam int unsigned KBits    = $clog2(K + 2);          // 0..K+1
  localparam int unsigned OyBits   = OfmH > 1 ? $clog2(OfmH) : 1;

  localparam logic [AddrBits-1:0] LastAddr = AddrBits'(Depth - 1);
  localparam logic [ColBits-1:0]  LastCol  = ColBits'(RowBeats - 1);
  localparam logic [ColBits-1:0]  LastOxb  = ColBits'((OfmW - 1) * CF);
  localparam logic [JBits-1:0]    LastJ    = JBits'(WinRow - 1);
  localparam logic [KBits-1:0]    LastKy   = KBits'(K - 1);
  localparam logic [KBits-1:0]    LastSlot = KBits'(K);
  localparam logic [OyBits-1:0]   LastOy   = OyBits'(OfmH - 1);

  logic [Width-1:0] mem [Depth];

  // ---------------------------------------------------------------------------------------------
  // Writer
  logic [AddrBits-1:0] wptr_q;
  logic [ColBits-1:0]  wcol_q;   // beats already written in the row being written
  logic [KBits-1:0]    rel_q;
  logic                wr, wr_row_done;

  assign s_axis_tready = rel_q <= KBits'(K);
  assign wr            = s_axis_tvalid && s_axis_tready;
  assign wr_row_done   = wr && (wcol_q == LastCol);

  always_ff @(posedge ap_clk) begin
    if (wr) mem[wptr_q] <= s_axis_tdata;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wptr_q <= '0;
      wcol_q <= '0;
    end else if (wr) begin
      wptr_q <= (wptr_q == LastAddr) ? '0 : wptr_q + 1'b1;
      wcol_q <= wr_row_done ? '0 : wcol_q + 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Reader
  logic [JBits-1:0]    j_q;      // kx*CF + channel group within the window row
  logic [KBits-1:0]    ky_q;
  logic [ColBits-1:0]  oxb_q;    // ox*CF
  logic [OyBits-1:0]   oy_q;
  logic [KBits-1:0]    lslot_q;  // line-buffer slot of window row 0
  logic [ColBits-1:0]  col;
  logic [KBits:0]      slot_sum;
  logic [KBits-1:0]    slot;
  logic [AddrBits-1:0] raddr;
  logic                can_read, rd, rd_pix_done, rd_row_done, rd_img_done;
  logic                advance, r1_valid_q, skid_ready;
  logic [Width-1:0]    r1_data_q;

  assign col      = oxb_q + ColBits'(j_q);
  assign slot_sum = {1'b0, lslot_q} + {1'b0, ky_q};
  assign slot     = (slot_sum >= (KBits + 1)'(Rows)) ? KBits'(slot_sum - (KBits + 1)'(Rows))
                                                     : KBits'(slot_sum);
  assign raddr    = AddrBits'(slot) * AddrBits'(RowBeats) + AddrBits'(col);
  assign can_read = (ky_q < rel_q) || ((ky_q == rel_q) && (col < wcol_q));

  assign advance     = skid_ready || !r1_valid_q;
  assign rd          = advance && can_read;
  assign rd_pix_done = rd && (j_q == LastJ) && (ky_q == LastKy);
  assign rd_row_done = rd_pix_done && (oxb_q == LastOxb);
  assign rd_img_done = rd_row_done && (oy_q == LastOy);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      j_q     <= '0;
      ky_q    <= '0;
      oxb_q   <= '0;
      oy_q    <= '0;
      lslot_q <= '0;
    end else if (rd) begin
      j_q <= (j_q == LastJ) ? '0 : j_q + 1'b1;
      if (j_q == LastJ) begin
        ky_q <= (ky_q == LastKy) ? '0 : ky_q + 1'b1;
      end
      if (rd_pix_done) begin
        oxb_q <= (oxb_q == LastOxb) ? '0 : oxb_q + ColBits'(CF);
      end
      if (rd_row_done) begin
        oy_q <= (oy_q == LastOy) ? '0 : oy_q + 1'b1;
        if (rd_img_done) begin
          // Skip the K rows only this image used: lslot + K mod (K+1) = lslot - 1 mod (K+1).
          lslot_q <= (lslot_q == '0) ? LastSlot : lslot_q - 1'b1;
        end else begin
          lslot_q <= (lslot_q == LastSlot) ? '0 : lslot_q + 1'b1;
        end
      end
    end
  end

  // Rows released by the reader, rows completed by the writer.
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      rel_q <= '0;
    end else begin
      rel_q <= rel_q + KBits'(wr_row_done)
             - (rd_img_done ? KBits'(K) : KBits'(rd_row_done));
    end
  end

  always_ff @(posedge ap_clk) begin
    if (advance) r1_data_q <= mem[raddr];
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      r1_valid_q <= 1'b0;
    end else if (advance) begin
      r1_valid_q <= rd;
    end
  end

  axis_skid #(
    .WIDTH(Width)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (r1_data_q),
    .s_axis_tvalid(r1_valid_q),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
