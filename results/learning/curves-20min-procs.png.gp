set terminal pngcairo size 1400,900 noenhanced font ',10'
set output '/work/main/results/learning/curves-20min-procs.png.tmp-10409'
set multiplot layout 2,2 title 'quickstart recipe, 20 min on 2 cores: 1 vs 2 training processes'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot '/work/main/results/learning/curves-20min-procs.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title '1 process (byte bits) train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title '1 process (byte bits) held-out', '/work/main/results/learning/curves-20min-procs.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title '2 processes (--procs 2) train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title '2 processes (--procs 2) held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot '/work/main/results/learning/curves-20min-procs.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title '1 process (byte bits) train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title '1 process (byte bits) held-out', '/work/main/results/learning/curves-20min-procs.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title '2 processes (--procs 2) train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title '2 processes (--procs 2) held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot '/work/main/results/learning/curves-20min-procs.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title '1 process (byte bits) exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title '1 process (byte bits) bytes', '/work/main/results/learning/curves-20min-procs.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title '2 processes (--procs 2) exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title '2 processes (--procs 2) bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot '/work/main/results/learning/curves-20min-procs.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title '1 process (byte bits) exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title '1 process (byte bits) bytes', '/work/main/results/learning/curves-20min-procs.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title '2 processes (--procs 2) exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title '2 processes (--procs 2) bytes'
unset multiplot
