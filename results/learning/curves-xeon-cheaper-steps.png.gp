set terminal pngcairo size 1400,900 noenhanced font ',10'
set output 'results/learning/curves-xeon-cheaper-steps.png.tmp-823'
set multiplot layout 2,2 title 'training curves'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-xeon-cheaper-steps.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title 'the recipe, seed 1 train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe, seed 1 held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title 'the recipe, seed 2 train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title 'the recipe, seed 2 held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 4 using 1:3 with lines lt 3 lw 1 title 'one byte layer train', '' index 5 using 1:3 with linespoints lt 3 lw 2 pt 7 title 'one byte layer held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 6 using 1:3 with lines lt 4 lw 1 title 'hard states 0.25 train', '' index 7 using 1:3 with linespoints lt 4 lw 2 pt 7 title 'hard states 0.25 held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot 'results/learning/curves-xeon-cheaper-steps.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title 'the recipe, seed 1 train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe, seed 1 held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title 'the recipe, seed 2 train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title 'the recipe, seed 2 held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 4 using 2:3 with lines lt 3 lw 1 title 'one byte layer train', '' index 5 using 2:3 with linespoints lt 3 lw 2 pt 7 title 'one byte layer held-out', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 6 using 2:3 with lines lt 4 lw 1 title 'hard states 0.25 train', '' index 7 using 2:3 with linespoints lt 4 lw 2 pt 7 title 'hard states 0.25 held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-xeon-cheaper-steps.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe, seed 1 exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe, seed 1 bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title 'the recipe, seed 2 exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title 'the recipe, seed 2 bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 5 using 1:4 with linespoints lt 3 lw 2 pt 7 title 'one byte layer exact patches', '' index 5 using 1:5 with linespoints lt 3 dt 2 pt 6 title 'one byte layer bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 7 using 1:4 with linespoints lt 4 lw 2 pt 7 title 'hard states 0.25 exact patches', '' index 7 using 1:5 with linespoints lt 4 dt 2 pt 6 title 'hard states 0.25 bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot 'results/learning/curves-xeon-cheaper-steps.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe, seed 1 exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe, seed 1 bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title 'the recipe, seed 2 exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title 'the recipe, seed 2 bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 5 using 2:4 with linespoints lt 3 lw 2 pt 7 title 'one byte layer exact patches', '' index 5 using 2:5 with linespoints lt 3 dt 2 pt 6 title 'one byte layer bytes', 'results/learning/curves-xeon-cheaper-steps.png.dat' index 7 using 2:4 with linespoints lt 4 lw 2 pt 7 title 'hard states 0.25 exact patches', '' index 7 using 2:5 with linespoints lt 4 dt 2 pt 6 title 'hard states 0.25 bytes'
unset multiplot
