// Read-only memory with a registered, enabled read port, initialised by $readmemh(FILE).
//
// The read register is the memory's own output register (no logic between array and flop), which
// is the shape synthesis needs to map the ROM to block RAM; the enable freezes the output while a
// pipeline is stalled. USE_BRAM selects the rom_style hint: 1 = "block" (RAMB18/RAMB36),
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
    (* rom_style = "logic" *) logic [WIDTH-1:0] mem [DEPTH];
    initial $readmemh(FILE, mem);
    always_ff @(posedge ap_clk) begin
      if (en) rdata <= mem[addr];
    end
  end
endmodule
