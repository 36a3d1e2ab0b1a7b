// Output beat = MEM[input beat[3:0]] + OFFSET, where MEM (16 x 32 bit) is read with
// $readmemh from MEM_FILE at simulation start. MEM_FILE is an untyped parameter
// (Yosys 0.23 rejects `parameter string`), passed by the bridge as a quoted -G string.
module rom_lookup #(
    parameter MEM_FILE = "rom_lookup_default.hex",
    parameter int OFFSET = 0
) (
    input  logic        ap_clk,
    input  logic        ap_rst_n,
    input  logic [7:0]  s_axis_tdata,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready
);
    logic [31:0] mem[16];

    initial $readmemh(MEM_FILE, mem);

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tdata  <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                m_axis_tdata  <= mem[s_axis_tdata[3:0]] + OFFSET;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule
