set terminal pngcairo size 1400,900 noenhanced font ',10'
set output 'results/learning/curves-toy-20min.png.tmp-28932'
set multiplot layout 2,2 title 'training curves'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-toy-20min.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title 'copy path reading the previous patch train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title 'copy path reading the previous patch held-out', 'results/learning/curves-toy-20min.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title 'copy path reading the previous state (copy-state) train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title 'copy path reading the previous state (copy-state) held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-toy-20min.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title 'copy path reading the previous patch train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title 'copy path reading the previous patch held-out', 'results/learning/curves-toy-20min.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title 'copy path reading the previous state (copy-state) train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title 'copy path reading the previous state (copy-state) held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-toy-20min.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title 'copy path reading the previous patch exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'copy path reading the previous patch bytes', 'results/learning/curves-toy-20min.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title 'copy path reading the previous state (copy-state) exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title 'copy path reading the previous state (copy-state) bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-toy-20min.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title 'copy path reading the previous patch exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title 'copy path reading the previous patch bytes', 'results/learning/curves-toy-20min.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title 'copy path reading the previous state (copy-state) exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title 'copy path reading the previous state (copy-state) bytes'
unset multiplot
