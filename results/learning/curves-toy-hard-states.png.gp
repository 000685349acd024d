set terminal pngcairo size 1400,900 noenhanced font ',10'
set output 'results/learning/curves-toy-hard-states.png.tmp-791'
set multiplot layout 2,2 title 'training curves'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-toy-hard-states.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title 'the recipe until now (609 steps) train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe until now (609 steps) held-out', 'results/learning/curves-toy-hard-states.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title 'hard states 0.25, seed 1 (766 steps) train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title 'hard states 0.25, seed 1 (766 steps) held-out', 'results/learning/curves-toy-hard-states.png.dat' index 4 using 1:3 with lines lt 3 lw 1 title 'hard states 0.25, seed 2, another set (790 steps) train', '' index 5 using 1:3 with linespoints lt 3 lw 2 pt 7 title 'hard states 0.25, seed 2, another set (790 steps) held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-toy-hard-states.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title 'the recipe until now (609 steps) train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe until now (609 steps) held-out', 'results/learning/curves-toy-hard-states.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title 'hard states 0.25, seed 1 (766 steps) train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title 'hard states 0.25, seed 1 (766 steps) held-out', 'results/learning/curves-toy-hard-states.png.dat' index 4 using 2:3 with lines lt 3 lw 1 title 'hard states 0.25, seed 2, another set (790 steps) train', '' index 5 using 2:3 with linespoints lt 3 lw 2 pt 7 title 'hard states 0.25, seed 2, another set (790 steps) held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-toy-hard-states.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe until now (609 steps) exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe until now (609 steps) bytes', 'results/learning/curves-toy-hard-states.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title 'hard states 0.25, seed 1 (766 steps) exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title 'hard states 0.25, seed 1 (766 steps) bytes', 'results/learning/curves-toy-hard-states.png.dat' index 5 using 1:4 with linespoints lt 3 lw 2 pt 7 title 'hard states 0.25, seed 2, another set (790 steps) exact patches', '' index 5 using 1:5 with linespoints lt 3 dt 2 pt 6 title 'hard states 0.25, seed 2, another set (790 steps) bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-toy-hard-states.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe until now (609 steps) exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe until now (609 steps) bytes', 'results/learning/curves-toy-hard-states.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title 'hard states 0.25, seed 1 (766 steps) exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title 'hard states 0.25, seed 1 (766 steps) bytes', 'results/learning/curves-toy-hard-states.png.dat' index 5 using 2:4 with linespoints lt 3 lw 2 pt 7 title 'hard states 0.25, seed 2, another set (790 steps) exact patches', '' index 5 using 2:5 with linespoints lt 3 dt 2 pt 6 title 'hard states 0.25, seed 2, another set (790 steps) bytes'
unset multiplot
