// Multi-threshold activation by binary search over each lane's sorted thresholds: OBITS registered
// stages with one comparator each, instead of 2^OBITS - 1 comparators and a ROM word holding all
// thresholds of every lane (what makes 8-bit activations too big for LUTs and too wide for BRAM).
//
// q[l] = #{ t : v[l] >= T[l][t] } for non-decreasing thresholds (the model file guarantees the
// order): stage s decides bit OBITS-1-s of q by comparing v with T[l][(2j+1) * 2^(OBITS-1-s) - 1],
// j being the bits decided so far. Stage s of lane l reads its own ROM of NF * 2^s thresholds,
// word nf * 2^s + j, from "<THRESH_FILE>.l<llll>.s<s>.hex" (lane as four decimal digits), VBITS
// bits two's complement; thresholds set nf belongs to output fold nf. The ROM address for stage
// s + 1 is formed from stage s's comparison, so each stage takes one cycle.
// Latency: `v`/`nf` presented with `en` to `q` = OBITS + 1 enabled cycles; one result per cycle.
module threshold_search #(
  parameter int unsigned LANES    = 1,
  parameter int unsigned NF       = 1,
  parameter int unsigned VBITS    = 16,
  parameter int unsigned OBITS    = 4,
  // Stage ROMs of 256 words or more go to block RAM when set.
  parameter int unsigned USE_BRAM = 0,
  // Lanes with their own threshold files: lane l reads lane l % FILE_LANES's (several vectors
  // of one matrix share its rows' thresholds).
  parameter int unsigned FILE_LANES = LANES,
  parameter              THRESH_FILE = "",
  localparam int unsigned NfBits = NF > 1 ? $clog2(NF) : 1
) (
  input  logic                     ap_clk,
  input  logic                     en,
  input  logic [NfBits-1:0]        nf,
  input  logic [LANES*VBITS-1:0]   v,
  output logic [LANES*OBITS-1:0]   q
);
  // Four decimal digits of n, as ASCII.
  function automatic logic [31:0] dec4(input int unsigned n);
    dec4 = {8'(48 + (n / 1000) % 10), 8'(48 + (n / 100) % 10), 8'(48 + (n / 10) % 10), 8'(48 + n % 10)};
  endfunction

  // Per stage: the value and threshold set travel with the bits decided so far.
  logic [LANES*VBITS-1:0] v_q  [OBITS];
  logic [NfBits-1:0]      nf_q [OBITS];

  always_ff @(posedge ap_clk) begin
    if (en) begin
      v_q[0]  <= v;
      nf_q[0] <= nf;
      for (int s = 1; s < OBITS; s++) begin
        v_q[s]  <= v_q[s - 1];
        nf_q[s] <= nf_q[s - 1];
      end
    end
  end

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    // bits_q[s]: the s bits decided before stage s (MSB first), valid in stage s.
    logic [OBITS-1:0] bits_q [OBITS];
    logic [OBITS-1:0] decided [OBITS];   // bits after stage s's comparison
    logic [VBITS-1:0] vl [OBITS];

    for (genvar s = 0; s < OBITS; s++) begin : g_stage
      localparam int unsigned Depth    = NF << s;
      localparam int unsigned AddrBits = Depth > 1 ? $clog2(Depth) : 1;
      localparam              File     = {THRESH_FILE, ".l", dec4(l % FILE_LANES), ".s", 8'(48 + s), ".hex"};
      logic [AddrBits-1:0] addr;
      logic [VBITS-1:0]    t;

      // The address of this stage's threshold, presented one enabled cycle before the stage.
      if (s == 0) begin : g_addr0
        assign addr = AddrBits'(nf);
      end else begin : g_addr
        // nf * 2^s + the s bits decided by stages 0..s-1
        assign addr = AddrBits'({nf_q[s - 1], decided[s - 1][OBITS-1 -: s]});
      end

      rom_sync #(
        .WIDTH   (VBITS),
        .DEPTH   (Depth),
        .USE_BRAM((USE_BRAM != 0 && Depth >= 256) ? 1 : 0),
        .FILE    ((THRESH_FILE == "") ? "" : File)
      ) u_rom (
        .ap_clk,
        .en   (en),
        .addr (addr),
        .rdata(t)
      );

      assign vl[s] = v_q[s][l*VBITS +: VBITS];
      if (s == 0) begin : g_first
        assign bits_q[0] = '0;
      end else begin : g_carry
        always_ff @(posedge ap_clk) begin
          if (en) bits_q[s] <= decided[s - 1];
        end
      end
      always_comb begin
        decided[s] = bits_q[s];
        decided[s][OBITS - 1 - s] = $signed(vl[s]) >= $signed(t);
      end
    end

    always_ff @(posedge ap_clk) begin
      if (en) q[l*OBITS +: OBITS] <= decided[OBITS - 1];
    end
  end
endmodule
