// Running sum of the input stream: output beat i = (in[0] + ... + in[i]) mod 2^WIDTH.
// s_axis_tready depends combinationally on m_axis_tready, so a driver that samples
// handshakes before the clock edge settles is exercised.
module stream_adder #(
    parameter int WIDTH = 32
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
    logic [WIDTH-1:0] sum;

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sum           <= '0;
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                sum           <= sum + s_axis_tdata;
                m_axis_tdata  <= sum + s_axis_tdata;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule
