// First-word-fall-through FIFO of DEPTH entries (a power of two): the output stream
// equals the input stream. WIDTH selects the Verilator port type (CData .. VlWide).
module wide_passthrough #(
    parameter int WIDTH = 130,
    parameter int DEPTH = 4
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
    localparam int AW = $clog2(DEPTH);

    logic [WIDTH-1:0] mem[DEPTH];
    logic [AW-1:0]    rd, wr;
    logic [AW:0]      count;

    wire push = s_axis_tvalid && s_axis_tready;
    wire pop  = m_axis_tvalid && m_axis_tready;

    assign s_axis_tready = count != (AW + 1)'(DEPTH);
    assign m_axis_tvalid = count != '0;
    assign m_axis_tdata  = mem[rd];

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            rd    <= '0;
            wr    <= '0;
            count <= '0;
        end else begin
            if (push) begin
                mem[wr] <= s_axis_tdata;
                wr      <= wr + 1'b1;
            end
            if (pop) rd <= rd + 1'b1;
            if (push && !pop) count <= count + 1'b1;
            else if (pop && !push) count <= count - 1'b1;
        end
    end
endmodule
