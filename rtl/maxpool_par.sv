// 2x2 max-pool, stride 2, floor, taking PIXELS whole pixels per beat (PIXELS even): the pool
// behind a layer that produces several pixels per cycle.
//
// Input: IFM_H x IFM_W pixels in raster order, PIXELS pixels (all CHANNELS elements each) per
// beat; IFM_W % PIXELS == 0, so beats never straddle rows and every beat holds whole 2x2 block
// columns. Output: the (IFM_H/2) x (IFM_W/2) pooled pixels in raster order, PIXELS/2 per beat.
// An odd last row is consumed and dropped.
//
// Elements compare as unsigned encodings (OR for bipolar, EBITS = 1). Each beat's horizontal
// pairs are reduced at once; a row buffer of IFM_W/PIXELS words (asynchronous read: LUT RAM)
// keeps those of the even row, and the odd row's beat emits max(stored, pairs). One input beat
// per cycle; a result leaves 1 cycle after its odd-row beat.
module maxpool_par #(
  parameter int unsigned IFM_H    = 4,
  parameter int unsigned IFM_W    = 4,
  parameter int unsigned CHANNELS = 2,
  parameter int unsigned PIXELS   = 2,
  parameter int unsigned EBITS    = 1
) (
  input  logic                                 ap_clk,
  input  logic                                 ap_rst_n,
  input  logic [PIXELS*CHANNELS*EBITS-1:0]     s_axis_tdata,
  input  logic                                 s_axis_tvalid,
  output logic                                 s_axis_tready,
  output logic [PIXELS/2*CHANNELS*EBITS-1:0]   m_axis_tdata,
  output logic                                 m_axis_tvalid,
  input  logic                                 m_axis_tready
);
  localparam int unsigned PixBits  = CHANNELS * EBITS;
  localparam int unsigned Pairs    = PIXELS / 2;
  localparam int unsigned OutBits  = Pairs * PixBits;
  localparam int unsigned Lanes    = Pairs * CHANNELS;
  localparam int unsigned RowBeats = IFM_W / PIXELS;
  localparam int unsigned BBits    = RowBeats > 1 ? $clog2(RowBeats) : 1;
  localparam int unsigned YBits    = IFM_H > 1 ? $clog2(IFM_H) : 1;

  localparam logic [BBits-1:0] LastB = BBits'(RowBeats - 1);
  localparam logic [YBits-1:0] LastY = YBits'(IFM_H - 1);
  // The first row outside the pooled area (IFM_H itself when even).
  localparam logic [YBits:0]   EndY  = (YBits + 1)'(2 * (IFM_H / 2));

  logic [BBits-1:0]   b_q;
  logic [YBits-1:0]   y_q;
  logic               in_pool, emit, fire, skid_ready;
  logic [OutBits-1:0] rbuf [RowBeats];
  logic [OutBits-1:0] pairs, stored, maxed;

  assign in_pool       = {1'b0, y_q} < EndY;
  assign emit          = in_pool && y_q[0];
  // Only an odd-row beat needs room downstream (skid_ready is a flop).
  assign s_axis_tready = !emit || skid_ready;
  assign fire          = s_axis_tvalid && s_axis_tready;
  assign stored        = rbuf[b_q];

  function automatic logic [EBITS-1:0] max2(input logic [EBITS-1:0] a, input logic [EBITS-1:0] b);
    max2 = (a > b) ? a : b;
  endfunction

  for (genvar q = 0; q < Pairs; q++) begin : g_pair
    for (genvar c = 0; c < CHANNELS; c++) begin : g_ch
      localparam int unsigned L = (2 * q) * CHANNELS + c;  // element of the pair's left pixel
      assign pairs[(q*CHANNELS + c)*EBITS +: EBITS] =
          max2(s_axis_tdata[L*EBITS +: EBITS], s_axis_tdata[(L + CHANNELS)*EBITS +: EBITS]);
    end
  end

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    assign maxed[l*EBITS +: EBITS] = max2(stored[l*EBITS +: EBITS], pairs[l*EBITS +: EBITS]);
  end

  always_ff @(posedge ap_clk) begin
    if (fire && in_pool && !y_q[0]) rbuf[b_q] <= pairs;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      b_q <= '0;
      y_q <= '0;
    end else if (fire) begin
      b_q <= (b_q == LastB) ? '0 : b_q + 1'b1;
      if (b_q == LastB) y_q <= (y_q == LastY) ? '0 : y_q + 1'b1;
    end
  end

  axis_skid #(
    .WIDTH(OutBits)
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
