// The MVTU's datapath: MMV x PE dot products of SIMD lanes, pipelined so that any SIMD (up to a
// whole window, hundreds of lanes) keeps a short register-to-register path.
//
// dot[v][p] = sum_s w[p][s] * a[v][s], with the encodings of docs/architecture.md (1-bit operands
// bipolar, wider weights two's complement, wider activations unsigned); weight row p is shared by
// the MMV vectors. Layouts: w[p][s] at [(p*SIMD + s)*WBITS +: WBITS], a[v][s] at
// [(v*SIMD + s)*ABITS +: ABITS], dot[v][p] at [(v*PE + p)*DOT_BITS +: DOT_BITS] (two's complement,
// modulo 2^DOT_BITS). `tag` travels alongside (the caller's valid and fold flags, reset to 0), so
// the caller needs no copy of the latency rule.
//
// Structure: a leaf stage sums groups of lanes (WBITS = ABITS = 1: a popcount of the XNOR of up
// to 64 lanes; otherwise up to 4 products) into registers; a tree then adds 4 values per
// registered stage. Latency = 1 + ceil(log4(leaf groups)) cycles, all stages enabled by `en`.
// With bipolar weights and multi-bit activations, each row sums the activations its +1 weights
// select, and dot = 2 * that - (sum of all activations, one extra row shared by the PE rows):
// masks and plain adders instead of a negation per product.
module dot_array #(
  parameter int unsigned PE       = 1,
  parameter int unsigned SIMD     = 8,
  parameter int unsigned MMV      = 1,
  parameter int unsigned WBITS    = 1,
  parameter int unsigned ABITS    = 1,
  parameter int unsigned DOT_BITS = 16,
  parameter int unsigned TAG_BITS = 1
) (
  input  logic                         ap_clk,
  input  logic                         ap_rst_n,
  input  logic                         en,
  input  logic [PE*SIMD*WBITS-1:0]     w,
  input  logic [MMV*SIMD*ABITS-1:0]    a,
  input  logic [TAG_BITS-1:0]          tag_in,
  output logic [MMV*PE*DOT_BITS-1:0]   dot,
  output logic [TAG_BITS-1:0]          tag_out
);
  localparam bit          Binary   = (WBITS == 1) && (ABITS == 1);
  // Bipolar weights, multi-bit activations: masked sums of the activations against the sum of
  // all of them, which every PE row shares (no negations, narrower adders).
  localparam bit          Masked   = (WBITS == 1) && (ABITS > 1);
  localparam int unsigned Rows     = Masked ? PE + 1 : PE;
  localparam int unsigned Leaf     = Binary ? 64 : 4;
  localparam int unsigned Groups   = (SIMD + Leaf - 1) / Leaf;
  localparam int unsigned Stages   = Groups <= 1 ? 0 : ($clog2(Groups) + 1) / 2;
  localparam int unsigned Latency  = 1 + Stages;
  // Signed width of one product: W-bit signed times A-bit unsigned fits W+A bits exactly;
  // a bipolar operand needs one bit more (+-1 times an unsigned A-bit value).
  localparam int unsigned ProdBits = (WBITS == 1 || ABITS == 1) ? WBITS + ABITS + 1 : WBITS + ABITS;

  // Control travels with the data; reset, since it carries the caller's valid bit.
  logic [TAG_BITS-1:0] tag_q [Latency];
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      for (int i = 0; i < Latency; i++) tag_q[i] <= '0;
    end else if (en) begin
      tag_q[0] <= tag_in;
      for (int i = 1; i < Latency; i++) tag_q[i] <= tag_q[i - 1];
    end
  end
  assign tag_out = tag_q[Latency - 1];

  for (genvar v = 0; v < MMV; v++) begin : g_vec
    logic [SIMD*ABITS-1:0] a_vec;
    logic [DOT_BITS-1:0]   row_dot [Rows];
    assign a_vec = a[v*SIMD*ABITS +: SIMD*ABITS];

    for (genvar r = 0; r < Rows; r++) begin : g_row
      logic [SIMD*WBITS-1:0] w_row;
      // node[0]: the leaf sums; node[s + 1]: tree stage s (its first ceil(Groups / 4^(s+1)) entries).
      logic [DOT_BITS-1:0]   node [Stages + 1][Groups];
      if (r < PE) begin : g_weights
        assign w_row = w[r*SIMD*WBITS +: SIMD*WBITS];
      end else begin : g_total
        // The extra row of the masked mode: every lane selected, the sum of the activations.
        assign w_row = '1;
      end

      for (genvar g = 0; g < Groups; g++) begin : g_leaf
        localparam int unsigned Lo = g * Leaf;
        localparam int unsigned N  = (SIMD - Lo < Leaf) ? SIMD - Lo : Leaf;
        logic [DOT_BITS-1:0] sum;
        if (Binary) begin : g_xnor
          // 2*popcount - N, the bipolar dot product of the group.
          assign sum = (DOT_BITS'($countones(~(w_row[Lo +: N] ^ a_vec[Lo +: N]))) << 1) - DOT_BITS'(N);
        end else if (Masked) begin : g_masked
          always_comb begin
            sum = '0;
            for (int s = 0; s < N; s++) begin
              if (w_row[Lo + s]) sum = sum + DOT_BITS'(a_vec[(Lo + s)*ABITS +: ABITS]);
            end
          end
        end else begin : g_mac
          logic [N*ProdBits-1:0] prod;
          for (genvar s = 0; s < N; s++) begin : g_lane
            logic [WBITS-1:0] wb;
            logic [ABITS-1:0] ab;
            assign wb = w_row[(Lo + s)*WBITS +: WBITS];
            assign ab = a_vec[(Lo + s)*ABITS +: ABITS];
            if (ABITS == 1) begin : g_abip
              // A bipolar activation times a signed weight: a conditional negate, no multiplier.
              logic signed [ProdBits-1:0] wv;
              assign wv = ProdBits'($signed(wb));
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
            sum = '0;
            for (int s = 0; s < N; s++) begin
              sum = sum + DOT_BITS'($signed(prod[s*ProdBits +: ProdBits]));
            end
          end
        end
        // Registered here and wired into `node`, so that synthesis sees registers, not a memory.
        logic [DOT_BITS-1:0] sum_q;
        always_ff @(posedge ap_clk) begin
          if (en) sum_q <= sum;
        end
        assign node[0][g] = sum_q;
      end

      for (genvar s = 0; s < Stages; s++) begin : g_stage
        // Values entering stage s: ceil(Groups / 4^s); each node adds up to 4 of them.
        localparam int unsigned NIn  = (Groups + (1 << (2 * s)) - 1) >> (2 * s);
        localparam int unsigned NOut = (NIn + 3) / 4;
        for (genvar o = 0; o < NOut; o++) begin : g_node
          localparam int unsigned NAdd = (NIn - 4 * o < 4) ? NIn - 4 * o : 4;
          logic [DOT_BITS-1:0] sum;
          always_comb begin
            sum = '0;
            for (int i = 0; i < NAdd; i++) sum = sum + node[s][4 * o + i];
          end
          logic [DOT_BITS-1:0] sum_q;
          always_ff @(posedge ap_clk) begin
            if (en) sum_q <= sum;
          end
          assign node[s + 1][o] = sum_q;
        end
      end

      assign row_dot[r] = node[Stages][0];
    end

    for (genvar p = 0; p < PE; p++) begin : g_out
      if (Masked) begin : g_signed
        // sum (w ? a : -a) = 2 * sum_{w = +1} a - sum a
        assign dot[(v*PE + p)*DOT_BITS +: DOT_BITS] = (row_dot[p] << 1) - row_dot[PE];
      end else begin : g_plain
        assign dot[(v*PE + p)*DOT_BITS +: DOT_BITS] = row_dot[p];
      end
    end
  end
endmodule
