// Matrix-vector-threshold unit (FINN MVAU style), folded by PE rows x SIMD columns, MMV vectors
// per beat.
//
// Each group of MMV input vectors arrives as SF = MW/SIMD beats (vector v's SIMD elements at
// [v*SIMD*ABITS +: ...]). During output fold nf = 0 the beats are used straight from s_axis and
// written to an input buffer; folds nf = 1..NF-1 replay it, so a group takes NF*SF cycles
// (NF = MH/PE) at full throughput, one (nf, sf) step per clock. Output beat nf of a group holds
// rows nf*PE .. nf*PE+PE-1 of every vector, vector v's at [v*PE*OutElemBits +: ...]. MMV > 1 is
// for layers that are already fully parallel (SF = NF = 1) and must take several windows per
// cycle; the weights are then shared by the MMV dot products.
//
// Pipeline (one global enable, `advance`, derived from flops only):
//   issue : counters nf/sf pick the weight word nf*SF + sf and the activation beat.
//   s1    : weight word (ROM, registered address) and activation beat; dot_array: leaf sums and
//           an adder tree, 1 + ceil(log4(groups)) registered stages (groups of 64 lanes for
//           XNOR-popcount, 4 products otherwise), so any SIMD keeps a short register path.
//   acc   : accumulators (first beat of a fold loads, the others add).
//   s2    : final accumulators with their thresholds/biases (also a registered ROM read).
//   s3    : thresholded levels or acc + bias, computed in the register's enable so that
//           simulation evaluates the comparators once per output beat, not every clock.
//   out   : skid buffer; gives a registered tready back into the pipeline (no combinational
//           path joins m_axis_tready and s_axis_tready) and holds m_axis_tdata under stalls.
// Latency: last input beat of a fold to m_axis_tvalid = 4 + ceil(log4(groups)) cycles.
//
// Arithmetic: WBITS = ABITS = 1 uses dot = 2*popcount(~(w ^ x)) - SIMD. Other modes multiply
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
  parameter int unsigned MMV         = 1,
  parameter int unsigned WBITS       = 1,
  parameter int unsigned ABITS       = 1,
  parameter int unsigned OBITS       = 1,
  parameter int unsigned ACC_BITS    = 16,
  parameter int unsigned USE_BRAM    = 0,
  // Searched thresholds (OBITS >= 4): stage ROMs of 256 words or more in block RAM.
  parameter int unsigned THRESH_BRAM = 0,
  parameter              WEIGHT_FILE = "",
  parameter              THRESH_FILE = "",
  parameter              BIAS_FILE   = "",
  localparam int unsigned OutElemBits = (OBITS == 0) ? ACC_BITS : OBITS
) (
  input  logic                          ap_clk,
  input  logic                          ap_rst_n,
  input  logic [MMV*SIMD*ABITS-1:0]     s_axis_tdata,
  input  logic                          s_axis_tvalid,
  output logic                          s_axis_tready,
  output logic [MMV*PE*OutElemBits-1:0] m_axis_tdata,
  output logic                          m_axis_tvalid,
  input  logic                          m_axis_tready
);
  localparam int unsigned SF        = MW / SIMD;
  localparam int unsigned NF        = MH / PE;
  localparam int unsigned WDepth    = NF * SF;
  localparam int unsigned WWidth    = PE * SIMD * WBITS;
  localparam int unsigned AWidth    = MMV * SIMD * ABITS;
  localparam int unsigned Lanes     = MMV * PE;
  localparam int unsigned SfBits    = SF > 1 ? $clog2(SF) : 1;
  localparam int unsigned NfBits    = NF > 1 ? $clog2(NF) : 1;
  localparam int unsigned WAddrBits = WDepth > 1 ? $clog2(WDepth) : 1;
  localparam int unsigned NT        = (OBITS == 0) ? 1 : (1 << OBITS) - 1;
  // Threshold word when OBITS > 0, bias word when OBITS == 0.
  localparam int unsigned TWidth    = PE * NT * ACC_BITS;
  // Tag through the dot pipeline: valid, first and last beat of a fold, fold index.
  localparam int unsigned TagBits   = 3 + NfBits;

  localparam logic [SfBits-1:0]    LastSf    = SfBits'(SF - 1);
  localparam logic [NfBits-1:0]    LastNf    = NfBits'(NF - 1);
  localparam logic [WAddrBits-1:0] LastWAddr = WAddrBits'(WDepth - 1);

  // ---------------------------------------------------------------------------------------------
  // Issue stage
  logic [SfBits-1:0]    sf_q;
  logic [NfBits-1:0]    nf_q;
  logic [WAddrBits-1:0] waddr_q;
  logic                 advance, issue, first_fold;

  logic                          out_valid;
  logic [MMV*PE*OutElemBits-1:0] out_q;
  logic                          skid_ready;

  // The pipeline only stops when its last stage holds a result the output buffer cannot take.
  assign advance       = skid_ready || !out_valid;
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
  logic [WWidth-1:0] w_s1;

  rom_sync #(
    .WIDTH   (WWidth),
    .DEPTH   (WDepth),
    .USE_BRAM(USE_BRAM),
    .FILE    (WEIGHT_FILE)
  ) u_wrom (
    .ap_clk,
    .en   (advance),
    .addr (waddr_q),
    .rdata(w_s1)
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
  // Stage 1 flags, then the dot products with the flags as their tag.
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

  logic [Lanes*ACC_BITS-1:0] dot;
  logic [TagBits-1:0]        tag;
  logic                      d_valid, d_first, d_last;
  logic [NfBits-1:0]         d_nf;

  dot_array #(
    .PE      (PE),
    .SIMD    (SIMD),
    .MMV     (MMV),
    .WBITS   (WBITS),
    .ABITS   (ABITS),
    .DOT_BITS(ACC_BITS),
    .TAG_BITS(TagBits)
  ) u_dot (
    .ap_clk,
    .ap_rst_n,
    .en     (advance),
    .w      (w_s1),
    .a      (a_s1),
    .tag_in ({s1_nf_q, s1_last_q, s1_first_q, s1_valid_q}),
    .dot,
    .tag_out(tag)
  );
  assign {d_nf, d_last, d_first, d_valid} = tag;

  // Stage 2 control, declared here because every lane loads its stage-2 accumulator.
  logic [Lanes*ACC_BITS-1:0] acc_s2_q;
  logic                      s2_valid_q, s2_load;

  // Stage `acc`: per-lane accumulators. Each is its own signal (declared in the lane's generate
  // block) so that a simulator keeps it in one machine word.
  assign s2_load = advance && d_valid && d_last;

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    logic [ACC_BITS-1:0] acc_q, acc_next;
    assign acc_next = (d_first ? '0 : acc_q) + dot[l*ACC_BITS +: ACC_BITS];
    always_ff @(posedge ap_clk) begin
      if (advance && d_valid) acc_q <= acc_next;
      if (s2_load) acc_s2_q[l*ACC_BITS +: ACC_BITS] <= acc_next;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      s2_valid_q <= 1'b0;
    end else if (advance) begin
      s2_valid_q <= d_valid && d_last;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 2: finished accumulators (loaded in g_lane) plus the fold's thresholds (or biases).
  // Then the output stage: acc + bias, or the thresholded levels, computed only when stage 2
  // moves on; for OBITS >= 4 a binary search over the thresholds, OBITS + 1 stages.
  if (OBITS == 0 || OBITS < 4) begin : g_once
    logic [TWidth-1:0] t_s2_q;
    logic              s3_load;
    assign s3_load = advance && s2_valid_q;

    always_ff @(posedge ap_clk) begin
      if (!ap_rst_n) begin
        out_valid <= 1'b0;
      end else if (advance) begin
        out_valid <= s2_valid_q;
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
        .addr (d_nf),
        .rdata(t_s2_q)
      );
      for (genvar v = 0; v < MMV; v++) begin : g_vec
        for (genvar p = 0; p < PE; p++) begin : g_add
          localparam int unsigned L = v * PE + p;
          always_ff @(posedge ap_clk) begin
            if (s3_load) begin
              out_q[L*ACC_BITS +: ACC_BITS] <=
                  acc_s2_q[L*ACC_BITS +: ACC_BITS] + t_s2_q[p*ACC_BITS +: ACC_BITS];
            end
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
        .addr (d_nf),
        .rdata(t_s2_q)
      );
      for (genvar v = 0; v < MMV; v++) begin : g_vec
        multithreshold #(
          .LANES(PE),
          .VBITS(ACC_BITS),
          .NT   (NT),
          .OBITS(OBITS)
        ) u_mt (
          .ap_clk,
          .en (s3_load),
          .v  (acc_s2_q[v*PE*ACC_BITS +: PE*ACC_BITS]),
          .thr(t_s2_q),
          .q  (out_q[v*PE*OBITS +: PE*OBITS])
        );
      end
    end
  end else begin : g_search
    // 15 or 255 thresholds per row: one comparator per output bit instead of one per threshold,
    // and deep per-stage ROMs (block RAM) instead of one word with every threshold of PE rows.
    logic [NfBits-1:0] s2_nf_q;
    logic [OBITS:0]    valid_q;   // valid_q[i]: the search holds a result i + 1 stages in
    always_ff @(posedge ap_clk) begin
      if (s2_load) s2_nf_q <= d_nf;
    end
    always_ff @(posedge ap_clk) begin
      if (!ap_rst_n) begin
        valid_q <= '0;
      end else if (advance) begin
        valid_q <= {valid_q[OBITS-1:0], s2_valid_q};
      end
    end
    assign out_valid = valid_q[OBITS];

    threshold_search #(
      .LANES      (Lanes),
      .NF         (NF),
      .VBITS      (ACC_BITS),
      .OBITS      (OBITS),
      .USE_BRAM   (THRESH_BRAM),
      .FILE_LANES (PE),
      .THRESH_FILE(THRESH_FILE)
    ) u_search (
      .ap_clk,
      .en (advance),
      .nf (s2_nf_q),
      .v  (acc_s2_q),
      .q  (out_q)
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Output buffer: a registered tready back into the pipeline, stable data under backpressure.
  axis_skid #(
    .WIDTH(MMV * PE * OutElemBits)
  ) u_out (
    .ap_clk,
    .ap_rst_n,
    .s_axis_tdata (out_q),
    .s_axis_tvalid(out_valid),
    .s_axis_tready(skid_ready),
    .m_axis_tdata,
    .m_axis_tvalid,
    .m_axis_tready
  );
endmodule
