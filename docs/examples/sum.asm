; docs/examples/sum.asm (bgpt): ACC = A + B + C, then doubled into D.
; Run: cpusim run docs/examples/sum.asm --set A=3 --set B=4 --set C=5 --print
PUSH A        ; ACC = A
ADD B         ; ACC = ACC + B
ADD C         ; ACC = ACC + C
POP D         ; D = ACC
ADD D, D      ; D = D + D
HLT
