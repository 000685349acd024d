; docs/examples/countdown.asm (toy): writes N, N-1, ..., 1 to data memory M[N..1], sums them in R1.
; Run: cpusim run --isa toy docs/examples/countdown.asm --set R0=6 --print
        LDI R1, 0
loop:   STR [R0], R0     ; M[R0] = R0
        ADD R1, R0       ; R1 += R0 (C on overflow)
        DEC R0
        JNZ loop         ; until R0 == 0
        ST [0], R1       ; M[0] = the sum
        HLT
