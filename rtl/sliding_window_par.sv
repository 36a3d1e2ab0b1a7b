// Window-parallel K x K sliding-window generator: stride 1, no padding, HWC raster input.
//
// Input: IFM_H x IFM_W pixels, PIXELS whole pixels (all CHANNELS elements each) per beat.
// Output: for the OFM_H x OFM_W output pixels (OFM = IFM - K + 1) in raster order, one beat per
// PIXELS consecutive output pixels of a row, holding their PIXELS whole windows; window j at
// [j*K*K*CHANNELS*EBITS +: ...], each in (ky, kx, channel) order (the MVTU column order).
// Constraints: IFM_W % PIXELS == 0 and (K - 1) % PIXELS == 0, so that a row's windows fill whole
// beats (for K = 3: PIXELS 1 or 2).
//
// Structure (after FINN's parallel SWG, extended to several windows per beat): a delay line of
// K-1 rows, one RAM word per beat position of a row holding the K-1 older rows at those columns,
// read and written back shifted by one row in the same cycle (asynchronous read: the words of a
// 64-pixel map are LUT RAM); and a register chain of the K-1 newest columns (K pixels each) that,
// joined with the PIXELS columns of the current beat, holds every tap of the PIXELS windows.
// Every input beat moves through in one cycle and yields at most one output beat, so the module
// takes one beat per cycle, never waits for a whole row, and streams images back to back: rows of
// the previous image left in the delay line are never part of an emitted window.
// Latency: 1 cycle from an input beat to the output beat it completes (the output skid buffer).
module sliding_window_par #(
  parameter int unsigned K        = 3,
  parameter int unsigned IFM_H    = 8,
  parameter int unsigned IFM_W    = 8,
  parameter int unsigned CHANNELS = 2,
  parameter int unsigned PIXELS   = 1,
  parameter int unsigned EBITS    = 1
) (
  input  logic                                 ap_clk,
  input  logic                                 ap_rst_n,
  input  logic [PIXELS*CHANNELS*EBITS-1:0]     s_axis_tdata,
  input  logic                                 s_axis_tvalid,
  output logic                                 s_axis_tready,
  output logic [PIXELS*K*K*CHANNELS*EBITS-1:0] m_axis_tdata,
  output logic                                 m_axis_tvalid,
  input  logic                                 m_axis_tready
);
  localparam int unsigned PixBits  = CHANNELS * EBITS;
  localparam int unsigned BeatBits = PIXELS * PixBits;
  localparam int unsigned ColBits  = K * PixBits;          // one column of a window, ky = 0..K-1
  localparam int unsigned WinBits  = K * ColBits;
  localparam int unsigned OutBits  = PIXELS * WinBits;
  localparam int unsigned RowBeats = IFM_W / PIXELS;
  // Beats of a row before its first window is complete.
  localparam int unsigned Lead     = (K - 1) / PIXELS;
  localparam int unsigned BBits    = RowBeats > 1 ? $clog2(RowBeats) : 1;
  localparam int unsigned YBits    = IFM_H > 1 ? $clog2(IFM_H) : 1;

  localparam logic [BBits-1:0] LastB    = BBits'(RowBeats - 1);
  localparam logic [YBits-1:0] LastY    = YBits'(IFM_H - 1);
  localparam logic [BBits-1:0] LeadB    = BBits'(Lead);
  localparam logic [YBits-1:0] FirstOy  = YBits'(K - 1);

  logic [BBits-1:0]    b_q;       // beat position in the row of the next input beat
  logic [YBits-1:0]    y_q;
  logic                s1_valid_q, s1_emit_q, advance, fire, skid_ready;
  logic [BBits-1:0]    s1_b_q;
  logic [BeatBits-1:0] s1_data_q;
  logic [ColBits-1:0]  cols [K - 1 + PIXELS];   // oldest column first
  logic [OutBits-1:0]  windows;
  logic                emit_next;   // the next input beat completes PIXELS windows

  if (K > 1) begin : g_emit
    assign emit_next = (y_q >= FirstOy) && (b_q >= LeadB);
  end else begin : g_emit_all
    assign emit_next = 1'b1;
  end

  // A beat that completes no window never waits for the output.
  assign advance       = !s1_valid_q || !s1_emit_q || skid_ready;
  assign s_axis_tready = advance;
  assign fire          = s1_valid_q && advance;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      b_q        <= '0;
      y_q        <= '0;
      s1_valid_q <= 1'b0;
    end else if (advance) begin
      s1_valid_q <= s_axis_tvalid;
      if (s_axis_tvalid) begin
        b_q <= (b_q == LastB) ? '0 : b_q + 1'b1;
        if (b_q == LastB) y_q <= (y_q == LastY) ? '0 : y_q + 1'b1;
      end
    end
  end

  always_ff @(posedge ap_clk) begin
    if (advance) begin
      s1_data_q <= s_axis_tdata;
      s1_b_q    <= b_q;
      s1_emit_q <= emit_next;
    end
  end

  // The current beat's columns: K-1 older rows from the delay line above the beat's own pixel.
  if (K > 1) begin : g_lines
    localparam int unsigned LineBits = (K - 1) * BeatBits;  // row y-1-r at [r*BeatBits +: BeatBits]
    logic [LineBits-1:0] line [RowBeats];
    logic [LineBits-1:0] older;
    logic [ColBits-1:0]  chain_q [K - 1];                   // the K-1 newest columns before this beat

    assign older = line[s1_b_q];
    always_ff @(posedge ap_clk) begin
      if (fire) begin
        line[s1_b_q] <= LineBits'({older, s1_data_q});
      end
    end

    for (genvar p = 0; p < PIXELS; p++) begin : g_col
      for (genvar ky = 0; ky < K; ky++) begin : g_ky
        // Window row ky is image row y - (K-1) + ky: delay-line row K-2-ky, or the beat itself.
        if (ky == K - 1) begin : g_new
          assign cols[K - 1 + p][ky*PixBits +: PixBits] = s1_data_q[p*PixBits +: PixBits];
        end else begin : g_old
          assign cols[K - 1 + p][ky*PixBits +: PixBits] =
              older[(K - 2 - ky)*BeatBits + p*PixBits +: PixBits];
        end
      end
    end

    for (genvar i = 0; i < K - 1; i++) begin : g_chain
      assign cols[i] = chain_q[i];
      always_ff @(posedge ap_clk) begin
        if (fire) chain_q[i] <= cols[i + PIXELS];
      end
    end
  end else begin : g_pointwise
    // K = 1: no older rows or columns; the beat is its own windows.
    logic unused;
    assign unused = fire ^ (^s1_b_q);
    for (genvar p = 0; p < PIXELS; p++) begin : g_col
      assign cols[p] = s1_data_q[p*PixBits +: PixBits];
    end
  end

  for (genvar j = 0; j < PIXELS; j++) begin : g_win
    for (genvar ky = 0; ky < K; ky++) begin : g_ky
      for (genvar kx = 0; kx < K; kx++) begin : g_kx
        assign windows[j*WinBits + (ky*K + kx)*PixBits +: PixBits] = cols[j + kx][ky*PixBits +: PixBits];
      end
    end
  end

  axis_skid #(
    .WIDTH(OutBits)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (windows),
    .s_axis_tvalid(s1_valid_q && s1_emit_q),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
