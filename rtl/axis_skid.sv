// Two-entry AXI-Stream register slice (skid buffer).
//
// Both s_axis_tready and m_axis_tvalid/tdata come straight from flops, so this cuts every
// combinational path between the two sides and lets producers compute their own stall signal
// from registered state only. Full throughput: one beat in and one out per cycle.
module axis_skid #(
  parameter int unsigned WIDTH = 8
) (
  input  logic             ap_clk,
  input  logic             ap_rst_n,
  input  logic [WIDTH-1:0] s_axis_tdata,
  input  logic             s_axis_tvalid,
  output logic             s_axis_tready,
  output logic [WIDTH-1:0] m_axis_tdata,
  output logic             m_axis_tvalid,
  input  logic             m_axis_tready
);
  logic [WIDTH-1:0] main_q, skid_q;
  logic             main_valid_q, skid_valid_q;
  logic             main_free;

  // The main slot can take a new beat when it is empty or its beat leaves this cycle.
  assign main_free = !main_valid_q || m_axis_tready;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      main_valid_q <= 1'b0;
      skid_valid_q <= 1'b0;
    end else if (main_free) begin
      // While the skid slot is full s_axis_tready is low, so no beat arrives in that case.
      main_valid_q <= skid_valid_q || s_axis_tvalid;
      skid_valid_q <= 1'b0;
    end else if (s_axis_tvalid && !skid_valid_q) begin
      skid_valid_q <= 1'b1;
    end
  end

  // Data flops carry no reset: their contents only matter while the matching valid is set.
  always_ff @(posedge ap_clk) begin
    if (main_free) begin
      main_q <= skid_valid_q ? skid_q : s_axis_tdata;
    end
    if (!main_free && !skid_valid_q) begin
      skid_q <= s_axis_tdata;
    end
  end

  assign s_axis_tready = !skid_valid_q;
  assign m_axis_tvalid = main_valid_q;
  assign m_axis_tdata  = main_q;
endmodule
