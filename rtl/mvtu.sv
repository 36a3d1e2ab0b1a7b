// Matrix-vector-threshold unit (FINN MVAU style), folded by PE rows x SIMD columns.
//
// Each input vector arrives as SF = MW/SIMD beats. During output fold nf = 0 the beats are used
// straight from s_axis and written to an input buffer; folds nf = 1..NF-1 replay the buffer, so a
// vector takes NF*SF cycles (NF = MH/PE) at full throughput, one (nf, sf) step per clock.
//
// Pipeline (one global enable, `advance`, derived from flops only):
//   issue : counters nf/sf pick the weight word nf*SF + sf and the activation beat.
//   s1    : registered weight word (ROM read register, BRAM-friendly) and activation beat;
//           PE dot products of SIMD products are added to the accumulators.
//   s2    : final accumulators with their thresholds/biases (also a registered ROM read).
//   s3    : thresholded levels or acc + bias, computed in the register's enable so that
//           simulation evaluates the comparators once per output beat, not every clock.
//   out   : skid buffer; gives a registered tready back into the pipeline (no combinational
//           path joins m_axis_tready and s_axis_tready) and holds m_axis_tdata under stalls.
// Latency: last input beat of a fold to m_axis_tvalid = 4 cycles.
//
// Arithmetic: WBITS = ABITS = 1 uses acc += 2*popcount(~(w ^ x)) - SIMD. Other modes multiply
// decoded operands: a 1-bit operand is bipolar (1 -> +1, 0 -> -1), a wider weight is two's
// complement, a wider activation unsigned. Sums wrap modulo 2^ACC_BITS, which is exact whenever
// the final accumulator fits (the generator guarantees it).
// OBITS > 0: output q = #{t : acc >= T[t]} over NT = 2^OBITS - 1 thresholds per row.
// OBITS = 0: output acc + bias, ACC_BITS two's complement per PE lane.
module mvtu #(
  parameter int unsigned MW          = 64,
  parameter int unsigned MH          = 16,
  parameter int unsigned PE          = 4,
  parameter int unsigned SIMD        = 16,
  parameter int unsigned WBITS       = 1,
  parameter int unsigned ABITS       = 1,
  parameter int unsigned OBITS       = 1,
  parameter int unsigned ACC_BITS    = 16,
  parameter int unsigned USE_BRAM    = 0,
  parameter              WEIGHT_FILE = "",
  parameter              THRESH_FILE = "",
  parameter              BIAS_FILE   = "",
  localparam int unsigned OutBits = (OBITS == 0) ? PE * ACC_BITS : PE * OBITS
) (
  input  logic                   ap_clk,
  input  logic                   ap_rst_n,
  input  logic [SIMD*ABITS-1:0]  s_axis_tdata,
  input  logic                   s_axis_tvalid,
  output logic                   s_axis_tready,
  output logic [OutBits-1:0]     m_axis_tdata,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  localparam int unsigned SF       = MW / SIMD;
  localparam int unsigned NF       = MH / PE;
  localparam int unsigned WDepth   = NF * SF;
  localparam int unsigned WWidth   = PE * SIMD * WBITS;
  localparam int unsigned AWidth   = SIMD * ABITS;
  localparam int unsigned SfBits   = SF > 1 ? $clog2(SF) : 1;
  localparam int unsigned NfBits   = NF > 1 ? $clog2(NF) : 1;
  localparam int unsigned WAddrBits = WDepth > 1 ? $clog2(WDepth) : 1;
  localparam int unsigned NT       = (OBITS == 0) ? 1 : (1 << OBITS) - 1;
  // Threshold word when OBITS > 0, bias word when OBITS == 0.
  localparam int unsigned TWidth   = PE * NT * ACC_BITS;
  localparam bit          Binary   = (WBITS == 1) && (ABITS == 1);
  // Signed width of one product: W-bit signed times A-bit unsigned fits W+A bits exactly;
  // a bipolar operand needs one bit more (+-1 times an unsigned A-bit value).
  localparam int unsigned ProdBits = (WBITS == 1 || ABITS == 1) ? WBITS + ABITS + 1
                                                                : WBITS + ABITS;
  localparam int unsigned PcBits   = $clog2(SIMD + 1);

  localparam logic [SfBits-1:0]    LastSf = SfBits'(SF - 1);
  localparam logic [NfBits-1:0]    LastNf = NfBits'(NF - 1);
  localparam logic [WAddrBits-1:0] LastWAddr = WAddrBits'(WDepth - 1);

  // ---------------------------------------------------------------------------------------------
  // Issue stage
  logic [SfBits-1:0]    sf_q;
  logic [NfBits-1:0]    nf_q;
  logic [WAddrBits-1:0] waddr_q;
  logic                 advance, issue, first_fold;

  logic                 s3_valid_q;
  logic                 skid_ready;

  // The pipeline only stops when stage 3 holds a result the output buffer cannot take.
  assign advance       = skid_ready || !s3_valid_q;
  assign first_fold    = nf_q == '0;
  assign s_axis_tready = advance && first_fold;
  assign issue         = advance && (!first_fold || s_axis_tvalid);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      sf_q    <= '0;
      nf_q    <= '0;
      waddr_q <= '0;
    end else if (issue) begin
      sf_q    <= (sf_q == LastSf) ? '0 : sf_q + 1'b1;
      waddr_q <= (waddr_q == LastWAddr) ? '0 : waddr_q + 1'b1;
      if (sf_q == LastSf) begin
        nf_q <= (nf_q == LastNf) ? '0 : nf_q + 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Weight ROM, read through a register enabled by `advance` so a stall freezes it in place.
  logic [WWidth-1:0] w_s1_q;

  rom_sync #(
    .WIDTH   (WWidth),
    .DEPTH   (WDepth),
    .USE_BRAM(USE_BRAM),
    .FILE    (WEIGHT_FILE)
  ) u_wrom (
    .ap_clk,
    .en   (advance),
    .addr (waddr_q),
    .rdata(w_s1_q)
  );

  // ---------------------------------------------------------------------------------------------
  // Activation path: fold 0 takes the beat from s_axis (and stores it), later folds replay it.
  logic [AWidth-1:0] a_s1;
  logic [AWidth-1:0] a_in_q;

  always_ff @(posedge ap_clk) begin
    if (advance) a_in_q <= s_axis_tdata;
  end

  if (NF > 1) begin : g_ibuf
    logic [AWidth-1:0] ibuf [SF];
    logic [AWidth-1:0] ibuf_q;
    logic              use_in_q;
    always_ff @(posedge ap_clk) begin
      if (issue && first_fold) ibuf[sf_q] <= s_axis_tdata;
      // Plain synchronous read (no bypass mux in front of the register) keeps it RAM-inferable.
      if (advance) ibuf_q <= ibuf[sf_q];
    end
    always_ff @(posedge ap_clk) begin
      if (advance) use_in_q <= first_fold;
    end
    assign a_s1 = use_in_q ? a_in_q : ibuf_q;
  end else begin : g_no_ibuf
    assign a_s1 = a_in_q;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 1: dot products and accumulation. Each lane's accumulator is its own signal (declared
  // in the lane's generate block) so that a simulator keeps it in one machine word instead of
  // shifting fields of a packed vector.
  logic                 s1_valid_q, s1_first_q, s1_last_q;
  logic [NfBits-1:0]    s1_nf_q;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      s1_valid_q <= 1'b0;
    end else if (advance) begin
      s1_valid_q <= issue;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (advance) begin
      s1_first_q <= sf_q == '0;
      s1_last_q  <= sf_q == LastSf;
      s1_nf_q    <= nf_q;
    end
  end

  // Stage 2/3 control, declared here because every lane loads its stage-2 accumulator.
  logic [PE*ACC_BITS-1:0] acc_s2_q;
  logic [TWidth-1:0]      t_s2_q;
  logic                   s2_valid_q, s2_load;
  logic                   s3_load;
  logic [OutBits-1:0]     s3_q;

  assign s2_load = advance && s1_valid_q && s1_last_q;
  assign s3_load = advance && s2_valid_q;

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic [ACC_BITS-1:0] dot, acc_q, acc_next;
    logic [SIMD*WBITS-1:0] w_row;
    assign w_row = w_s1_q[p*SIMD*WBITS +: SIMD*WBITS];

    if (Binary) begin : g_xnor
      logic [PcBits-1:0] pc;
      assign pc  = PcBits'($countones(~(w_row ^ a_s1)));
      // 2*popcount - SIMD, the bipolar dot product of this beat.
      assign dot = (ACC_BITS'(pc) << 1) - ACC_BITS'(SIMD);
    end else begin : g_mac
      logic [SIMD*ProdBits-1:0] prod;
      for (genvar s = 0; s < SIMD; s++) begin : g_lane
        logic [WBITS-1:0] wb;
        logic [ABITS-1:0] ab;
        assign wb = w_row[s*WBITS +: WBITS];
        assign ab = a_s1[s*ABITS +: ABITS];
        if (WBITS == 1) begin : g_wbip
          // +-1 times an unsigned activation: a conditional negate, no multiplier.
          logic signed [ProdBits-1:0] av;
          assign av      = ProdBits'($signed({1'b0, ab}));
          assign prod[s*ProdBits +: ProdBits] = wb[0] ? av : -av;
        end else if (ABITS == 1) begin : g_abip
          logic signed [ProdBits-1:0] wv;
          assign wv      = ProdBits'($signed(wb));
          assign prod[s*ProdBits +: ProdBits] = ab[0] ? wv : -wv;
        end else if (ABITS == 2) begin : g_a2
          // Two partial products: cheaper in LUTs than a DSP slice, which Yosys would pick.
          logic signed [ProdBits-1:0] wv;
          assign wv = ProdBits'($signed(wb));
          assign prod[s*ProdBits +: ProdBits] = (ab[0] ? wv : '0) + (ab[1] ? (wv <<< 1) : '0);
        end else if (WBITS == 2) begin : g_w2
          // w = -2*w[1] + w[0]
          logic signed [ProdBits-1:0] av;
          assign av = ProdBits'($signed({1'b0, ab}));
          assign prod[s*ProdBits +: ProdBits] = (wb[0] ? av : '0) - (wb[1] ? (av <<< 1) : '0);
        end else begin : g_mul
          // The exact product width W+A keeps 4x4 below Yosys's 9-bit DSP threshold (LUTs);
          // 4x8, 8x4 and 8x8 map to DSP48E2.
          assign prod[s*ProdBits +: ProdBits] =
              ProdBits'($signed(wb)) * ProdBits'($signed({1'b0, ab}));
        end
      end
      always_comb begin
        dot = '0;
        for (int s = 0; s < SIMD; s++) begin
          dot = dot + ACC_BITS'($signed(prod[s*ProdBits +: ProdBits]));
        end
      end
    end

    assign acc_next = (s1_first_q ? '0 : acc_q) + dot;

    always_ff @(posedge ap_clk) begin
      if (advance && s1_valid_q) acc_q <= acc_next;
      if (s2_load) acc_s2_q[p*ACC_BITS +: ACC_BITS] <= acc_next;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 2: finished accumulators (loaded in g_pe) plus the fold's thresholds (or biases).
  // Stage 3: thresholded levels (or acc + bias), computed only when stage 2 moves on.

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      s2_valid_q <= 1'b0;
      s3_valid_q <= 1'b0;
    end else if (advance) begin
      s2_valid_q <= s1_valid_q && s1_last_q;
      s3_valid_q <= s2_valid_q;
    end
  end

  if (OBITS == 0) begin : g_bias
    rom_sync #(
      .WIDTH   (TWidth),
      .DEPTH   (NF),
      .USE_BRAM(0),
      .FILE    (BIAS_FILE)
    ) u_brom (
      .ap_clk,
      .en   (s2_load),
      .addr (s1_nf_q),
      .rdata(t_s2_q)
    );
    for (genvar p = 0; p < PE; p++) begin : g_add
      always_ff @(posedge ap_clk) begin
        if (s3_load) begin
          s3_q[p*ACC_BITS +: ACC_BITS] <=
              acc_s2_q[p*ACC_BITS +: ACC_BITS] + t_s2_q[p*ACC_BITS +: ACC_BITS];
        end
      end
    end
  end else begin : g_thresh
    rom_sync #(
      .WIDTH   (TWidth),
      .DEPTH   (NF),
      .USE_BRAM(0),
      .FILE    (THRESH_FILE)
    ) u_trom (
      .ap_clk,
      .en   (s2_load),
      .addr (s1_nf_q),
      .rdata(t_s2_q)
    );
    multithreshold #(
      .LANES(PE),
      .VBITS(ACC_BITS),
      .NT   (NT),
      .OBITS(OBITS)
    ) u_mt (
      .ap_clk,
      .en (s3_load),
      .v  (acc_s2_q),
      .thr(t_s2_q),
      .q  (s3_q)
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Output buffer: a registered tready back into the pipeline, stable data under backpressure.
  axis_skid #(
    .WIDTH(OutBits)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (s3_q),
    .s_axis_tvalid(s3_valid_q),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
