// Collects NUM_CLASSES logits (PE per beat, NUM_CLASSES/PE beats) and emits one beat:
// tdata[7:0] = argmax (signed compare, lowest index wins ties),
// tdata[8 + 32*i +: 32] = logit i sign-extended from ACC_BITS to 32 bits.
//
// The argmax runs beat by beat (strictly-greater replaces, so the first maximum stays). Logits
// of the next image are accepted while the previous result waits in the output skid buffer; only
// the completing beat needs room. One input beat per cycle; the result leaves 1 cycle after the
// last logit beat.
module label_select #(
  parameter int unsigned NUM_CLASSES = 2,
  parameter int unsigned PE          = 1,
  parameter int unsigned ACC_BITS    = 16,
  localparam int unsigned OutBits    = 8 + 32 * NUM_CLASSES
) (
  input  logic                   ap_clk,
  input  logic                   ap_rst_n,
  input  logic [PE*ACC_BITS-1:0] s_axis_tdata,
  input  logic                   s_axis_tvalid,
  output logic                   s_axis_tready,
  output logic [OutBits-1:0]     m_axis_tdata,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  localparam int unsigned NB     = NUM_CLASSES / PE;
  localparam int unsigned BBits  = NB > 1 ? $clog2(NB) : 1;
  localparam int unsigned LogitW = NUM_CLASSES * ACC_BITS;
  localparam logic [BBits-1:0] LastB = BBits'(NB - 1);

  logic [BBits-1:0]          b_q;
  logic [7:0]                base_q;   // class index of lane 0 of the current beat
  logic                      first, last, fire, skid_ready;
  logic signed [ACC_BITS-1:0] best_q, best;
  logic [7:0]                best_idx_q, best_idx;
  logic [LogitW-1:0]         logits;
  logic [OutBits-1:0]        result;

  assign first         = b_q == '0;
  assign last          = b_q == LastB;
  assign s_axis_tready = !last || skid_ready;
  assign fire          = s_axis_tvalid && s_axis_tready;

  always_comb begin
    best     = best_q;
    best_idx = best_idx_q;
    for (int p = 0; p < PE; p++) begin
      if ((first && p == 0) || ($signed(s_axis_tdata[p*ACC_BITS +: ACC_BITS]) > best)) begin
        best     = $signed(s_axis_tdata[p*ACC_BITS +: ACC_BITS]);
        best_idx = base_q + 8'(p);
      end
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      b_q    <= '0;
      base_q <= '0;
    end else if (fire) begin
      b_q    <= last ? '0 : b_q + 1'b1;
      base_q <= last ? '0 : base_q + 8'(PE);
    end
  end

  always_ff @(posedge ap_clk) begin
    if (fire) begin
      best_q     <= best;
      best_idx_q <= best_idx;
    end
  end

  // Earlier beats of the image, oldest in the LSBs; the last beat joins them unregistered.
  if (NB > 1) begin : g_store
    localparam int unsigned StoreW = (NB - 1) * PE * ACC_BITS;
    logic [StoreW-1:0] store_q;
    logic [LogitW-1:0] joined;
    assign joined = {s_axis_tdata, store_q};
    always_ff @(posedge ap_clk) begin
      if (fire && !last) store_q <= joined[LogitW-1:PE*ACC_BITS];
    end
    assign logits = joined;
  end else begin : g_no_store
    assign logits = s_axis_tdata;
  end

  assign result[7:0] = best_idx;
  for (genvar i = 0; i < NUM_CLASSES; i++) begin : g_sext
    assign result[8 + 32*i +: 32] = 32'($signed(logits[i*ACC_BITS +: ACC_BITS]));
  end

  axis_skid #(
    .WIDTH(OutBits)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (result),
    .s_axis_tvalid(s_axis_tvalid && last),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
