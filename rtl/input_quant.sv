// Input quantizer: LANES 8-bit pixels per beat to LANES OBITS-bit activations.
//
// Element j of the stream has channel j % CHANNELS (LANES % CHANNELS == 0), so every lane has a
// fixed channel and its thresholds are constants from THRESH_FILE: word c holds channel c's
// NT = 2^OBITS - 1 thresholds, 9-bit unsigned, threshold t at [t*9 +: 9]. Output level
// q = #{t : pixel >= T[c][t]}; a threshold of 256 is never reached. One beat per cycle;
// latency 2 cycles (threshold register, then the output skid buffer, whose registered tready
// stalls the threshold stage).
module input_quant #(
  parameter int unsigned LANES    = 1,
  parameter int unsigned CHANNELS = 1,
  parameter int unsigned OBITS    = 1,
  parameter              THRESH_FILE = ""
) (
  input  logic                   ap_clk,
  input  logic                   ap_rst_n,
  input  logic [LANES*8-1:0]     s_axis_tdata,
  input  logic                   s_axis_tvalid,
  output logic                   s_axis_tready,
  output logic [LANES*OBITS-1:0] m_axis_tdata,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  localparam int unsigned NT = (1 << OBITS) - 1;
  // Pixels and 9-bit thresholds compared as 10-bit signed values, which keeps 256 unreachable.
  localparam int unsigned VBits = 10;

  logic [NT*9-1:0]            thr_mem [CHANNELS];
  logic [LANES*VBits-1:0]     v;
  logic [LANES*NT*VBits-1:0]  thr;
  logic [LANES*OBITS-1:0]     q;
  logic                       q_valid_q, advance, skid_ready;

  if (THRESH_FILE != "") begin : g_init
    initial $readmemh(THRESH_FILE, thr_mem);
  end else begin : g_zero
    initial for (int c = 0; c < CHANNELS; c++) thr_mem[c] = (NT * 9)'(0);
  end

  for (genvar j = 0; j < LANES; j++) begin : g_lane
    assign v[j*VBits +: VBits] = {2'b00, s_axis_tdata[j*8 +: 8]};
    for (genvar t = 0; t < NT; t++) begin : g_thr
      assign thr[(j*NT + t)*VBits +: VBits] = {1'b0, thr_mem[j % CHANNELS][t*9 +: 9]};
    end
  end

  multithreshold #(
    .LANES(LANES),
    .VBITS(VBits),
    .NT   (NT),
    .OBITS(OBITS)
  ) u_mt (
    .ap_clk,
    .en (advance && s_axis_tvalid),
    .v,
    .thr,
    .q
  );

  assign advance       = skid_ready || !q_valid_q;
  assign s_axis_tready = advance;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      q_valid_q <= 1'b0;
    end else if (advance) begin
      q_valid_q <= s_axis_tvalid;
    end
  end

  axis_skid #(
    .WIDTH(LANES * OBITS)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (q),
    .s_axis_tvalid(q_valid_q),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
