set terminal pngcairo size 1400,900 noenhanced font ',10'
set output 'results/learning/curves-xeon-20min.png.tmp-14713'
set multiplot layout 2,2 title 'training curves'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-xeon-20min.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title 'the recipe (fresh clone, 1,389 steps) train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe (fresh clone, 1,389 steps) held-out', 'results/learning/curves-xeon-20min.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title '+ byte waves, position waves, feature at every byte (1,300 steps) train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title '+ byte waves, position waves, feature at every byte (1,300 steps) held-out', 'results/learning/curves-xeon-20min.png.dat' index 4 using 1:3 with lines lt 3 lw 1 title 'the same, batch 16 (1,950 steps) train', '' index 5 using 1:3 with linespoints lt 3 lw 2 pt 7 title 'the same, batch 16 (1,950 steps) held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-xeon-20min.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title 'the recipe (fresh clone, 1,389 steps) train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe (fresh clone, 1,389 steps) held-out', 'results/learning/curves-xeon-20min.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title '+ byte waves, position waves, feature at every byte (1,300 steps) train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title '+ byte waves, position waves, feature at every byte (1,300 steps) held-out', 'results/learning/curves-xeon-20min.png.dat' index 4 using 2:3 with lines lt 3 lw 1 title 'the same, batch 16 (1,950 steps) train', '' index 5 using 2:3 with linespoints lt 3 lw 2 pt 7 title 'the same, batch 16 (1,950 steps) held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-xeon-20min.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe (fresh clone, 1,389 steps) exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe (fresh clone, 1,389 steps) bytes', 'results/learning/curves-xeon-20min.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title '+ byte waves, position waves, feature at every byte (1,300 steps) exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title '+ byte waves, position waves, feature at every byte (1,300 steps) bytes', 'results/learning/curves-xeon-20min.png.dat' index 5 using 1:4 with linespoints lt 3 lw 2 pt 7 title 'the same, batch 16 (1,950 steps) exact patches', '' index 5 using 1:5 with linespoints lt 3 dt 2 pt 6 title 'the same, batch 16 (1,950 steps) bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-xeon-20min.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe (fresh clone, 1,389 steps) exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe (fresh clone, 1,389 steps) bytes', 'results/learning/curves-xeon-20min.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title '+ byte waves, position waves, feature at every byte (1,300 steps) exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title '+ byte waves, position waves, feature at every byte (1,300 steps) bytes', 'results/learning/curves-xeon-20min.png.dat' index 5 using 2:4 with linespoints lt 3 lw 2 pt 7 title 'the same, batch 16 (1,950 steps) exact patches', '' index 5 using 2:5 with linespoints lt 3 dt 2 pt 6 title 'the same, batch 16 (1,950 steps) bytes'
unset multiplot
