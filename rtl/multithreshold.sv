// Multi-threshold activation with a registered, enabled output, LANES lanes in parallel.
//
// q[l] = #{ t : v[l] >= thr[l][t] } (non-strict, signed), the FINN MultiThreshold rule. Counting
// every comparison (rather than a binary search) keeps the result exact even for unsorted
// thresholds. The count is computed inside the clocked process so that a simulator only
// evaluates the LANES*NT comparisons on cycles where `en` is set (once per output beat), not
// on every clock edge: with NT = 255 this dominates simulation time otherwise.
//
// Layouts: v[l] at [l*VBITS +: VBITS]; thr[l][t] at [(l*NT + t)*VBITS +: VBITS] (the MVTU
// threshold-memory word layout); q[l] at [l*OBITS +: OBITS]. NT must be at most 2^OBITS - 1.
module multithreshold #(
  parameter int unsigned LANES = 1,
  parameter int unsigned VBITS = 16,
  parameter int unsigned NT    = 1,
  parameter int unsigned OBITS = 1
) (
  input  logic                      ap_clk,
  input  logic                      en,
  input  logic [LANES*VBITS-1:0]    v,
  input  logic [LANES*NT*VBITS-1:0] thr,
  output logic [LANES*OBITS-1:0]    q
);
  function automatic logic [LANES*OBITS-1:0] levels(input logic [LANES*VBITS-1:0]    val,
                                                    input logic [LANES*NT*VBITS-1:0] t);
    logic [NT-1:0] ge;
    levels = '0;
    for (int l = 0; l < LANES; l++) begin
      for (int i = 0; i < NT; i++) begin
        ge[i] = $signed(val[l*VBITS +: VBITS]) >= $signed(t[(l*NT + i)*VBITS +: VBITS]);
      end
      levels[l*OBITS +: OBITS] = OBITS'($countones(ge));
    end
  endfunction

  always_ff @(posedge ap_clk) begin
    if (en) q <= levels(v, thr);
  end
endmodule
