// 2x2 max-pool, stride 2, floor (an odd last row / column is consumed and dropped).
//
// Elements are compared as unsigned encodings: for bipolar values (EBITS = 1, bit 1 = +1) the
// max is the OR. A row buffer of OFM_W*CF words (CF = CHANNELS/PE) holds the running maxima of
// the current output row; it is read asynchronously so the read-modify-write of consecutive
// beats on the same word (CF = 1) needs no forwarding. One input beat per cycle; a result beat
// leaves 1 cycle after the bottom-right input beat of its 2x2 block.
module maxpool #(
  parameter int unsigned IFM_H    = 4,
  parameter int unsigned IFM_W    = 4,
  parameter int unsigned CHANNELS = 4,
  parameter int unsigned PE       = 2,
  parameter int unsigned EBITS    = 1
) (
  input  logic                ap_clk,
  input  logic                ap_rst_n,
  input  logic [PE*EBITS-1:0] s_axis_tdata,
  input  logic                s_axis_tvalid,
  output logic                s_axis_tready,
  output logic [PE*EBITS-1:0] m_axis_tdata,
  output logic                m_axis_tvalid,
  input  logic                m_axis_tready
);
  localparam int unsigned Width   = PE * EBITS;
  localparam int unsigned CF      = CHANNELS / PE;
  localparam int unsigned OfmW    = IFM_W / 2;
  localparam int unsigned BufW    = OfmW * CF;
  localparam int unsigned CgBits  = CF > 1 ? $clog2(CF) : 1;
  localparam int unsigned XBits   = $clog2(IFM_W);
  localparam int unsigned YBits   = $clog2(IFM_H);
  localparam int unsigned IdxBits = BufW > 1 ? $clog2(BufW) : 1;

  localparam logic [CgBits-1:0] LastCg = CgBits'(CF - 1);
  localparam logic [XBits-1:0]  LastX  = XBits'(IFM_W - 1);
  localparam logic [YBits-1:0]  LastY  = YBits'(IFM_H - 1);
  // The first column / row outside the pooled area (equal to IFM_W / IFM_H when even).
  localparam logic [XBits:0]    EndX   = (XBits + 1)'(2 * OfmW);
  localparam logic [YBits:0]    EndY   = (YBits + 1)'(2 * (IFM_H / 2));

  logic [CgBits-1:0]  cg_q;
  logic [XBits-1:0]   x_q;
  logic [YBits-1:0]   y_q;
  logic [IdxBits-1:0] base_q;   // (x/2)*CF
  logic [IdxBits-1:0] idx;
  logic               in_pool, emit, fire, pix_done, skid_ready;
  logic [Width-1:0]   rbuf [BufW];
  logic [Width-1:0]   stored, maxed;

  assign idx     = base_q + IdxBits'(cg_q);
  assign in_pool = ({1'b0, x_q} < EndX) && ({1'b0, y_q} < EndY);
  assign emit    = in_pool && x_q[0] && y_q[0];
  // Only the beat that completes a block needs room downstream (skid_ready is a flop).
  assign s_axis_tready = !emit || skid_ready;
  assign fire     = s_axis_tvalid && s_axis_tready;
  assign pix_done = fire && (cg_q == LastCg);
  assign stored   = rbuf[idx];

  if (EBITS == 1) begin : g_or
    assign maxed = stored | s_axis_tdata;
  end else begin : g_max
    for (genvar p = 0; p < PE; p++) begin : g_lane
      logic [EBITS-1:0] a, b;
      assign a = stored[p*EBITS +: EBITS];
      assign b = s_axis_tdata[p*EBITS +: EBITS];
      assign maxed[p*EBITS +: EBITS] = (a > b) ? a : b;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (fire && in_pool && !emit) begin
      // The top-left beat of a block starts the maximum; the next two fold into it.
      rbuf[idx] <= (!x_q[0] && !y_q[0]) ? s_axis_tdata : maxed;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      cg_q   <= '0;
      x_q    <= '0;
      y_q    <= '0;
      base_q <= '0;
    end else if (fire) begin
      cg_q <= (cg_q == LastCg) ? '0 : cg_q + 1'b1;
      if (pix_done) begin
        x_q <= (x_q == LastX) ? '0 : x_q + 1'b1;
        if (x_q == LastX) begin
          y_q    <= (y_q == LastY) ? '0 : y_q + 1'b1;
          base_q <= '0;
        end else if (x_q[0] && (x_q != LastX)) begin
          base_q <= base_q + IdxBits'(CF);
        end
      end
    end
  end

  axis_skid #(
    .WIDTH(Width)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (maxed),
    .s_axis_tvalid(s_axis_tvalid && emit),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
