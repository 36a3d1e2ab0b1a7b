// Read-only memory with a registered, enabled read port (one cycle from address to data),
// initialised by $readmemh(FILE).
//
// In block RAM the read register is the memory's own output register (no logic between array and
// flop), which is the shape synthesis needs to map the ROM to RAMB18/36; the enable freezes the
// output while a pipeline is stalled. USE_BRAM selects the rom_style hint: 1 = "block" (RAMB18/RAMB36),
// 0 = "logic" (LUTs, what Vivado calls a distributed ROM). "distributed" itself is not used:
// Yosys 0.23 aborts with "no valid mapping found" for a ROM marked that way.
// An empty FILE gives an all-zero ROM (for lint and smoke tests).
module rom_sync #(
  parameter int unsigned WIDTH    = 8,
  parameter int unsigned DEPTH    = 16,
  parameter int unsigned USE_BRAM = 0,
  parameter              FILE     = "",
  localparam int unsigned AddrBits = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
  input  logic                ap_clk,
  input  logic                en,
  input  logic [AddrBits-1:0] addr,
  output logic [WIDTH-1:0]    rdata
);
  if (FILE == "") begin : g_zero
    always_ff @(posedge ap_clk) begin
      if (en) rdata <= WIDTH'(0);
    end
    logic unused;
    assign unused = ^addr;
  end else if (USE_BRAM != 0) begin : g_block
    (* rom_style = "block" *) logic [WIDTH-1:0] mem [DEPTH];
    initial $readmemh(FILE, mem);
    always_ff @(posedge ap_clk) begin
      if (en) rdata <= mem[addr];
    end
  end else begin : g_logic
    // In LUTs the register goes on the address instead: the same one-cycle read, but the ROM's
    // LUTs then merge with the logic that consumes the word (an XNOR against a weight bit, a
    // comparison against a threshold), and a one-word ROM is a constant with no flops at all.
    (* rom_style = "logic" *) logic [WIDTH-1:0] mem [DEPTH];
    logic [AddrBits-1:0] addr_q;
    initial $readmemh(FILE, mem);
    always_ff @(posedge ap_clk) begin
      if (en) addr_q <= addr;
    end
    if (DEPTH > 1) begin : g_read
      assign rdata = mem[addr_q];
    end else begin : g_const
      logic unused;
      assign unused = ^addr_q;
      assign rdata  = mem[0];
    end
  end
endmodule
