set terminal pngcairo size 1400,900 noenhanced font ',10'
set output '/work/main/results/learning/curves-20min-waves.png.tmp-15826'
set multiplot layout 2,2 title 'training curves'
set grid
set key top right
set title 'loss against steps'
set xlabel 'step'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot '/work/main/results/learning/curves-20min-waves.png.dat' index 0 using 1:3 with lines lt 1 lw 1 title 'the recipe again train', '' index 1 using 1:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe again held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 2 using 1:3 with lines lt 2 lw 1 title 'byte layers 3 train', '' index 3 using 1:3 with linespoints lt 2 lw 2 pt 7 title 'byte layers 3 held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 4 using 1:3 with lines lt 3 lw 1 title 'byte waves train', '' index 5 using 1:3 with linespoints lt 3 lw 2 pt 7 title 'byte waves held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 6 using 1:3 with lines lt 4 lw 1 title 'byte waves, seed 2 train', '' index 7 using 1:3 with linespoints lt 4 lw 2 pt 7 title 'byte waves, seed 2 held-out'
set title 'loss against training time'
set xlabel 'minutes'
set ylabel 'loss (nats per byte)'
set logscale y
set yrange [*:*]
plot '/work/main/results/learning/curves-20min-waves.png.dat' index 0 using 2:3 with lines lt 1 lw 1 title 'the recipe again train', '' index 1 using 2:3 with linespoints lt 1 lw 2 pt 7 title 'the recipe again held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 2 using 2:3 with lines lt 2 lw 1 title 'byte layers 3 train', '' index 3 using 2:3 with linespoints lt 2 lw 2 pt 7 title 'byte layers 3 held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 4 using 2:3 with lines lt 3 lw 1 title 'byte waves train', '' index 5 using 2:3 with linespoints lt 3 lw 2 pt 7 title 'byte waves held-out', '/work/main/results/learning/curves-20min-waves.png.dat' index 6 using 2:3 with lines lt 4 lw 1 title 'byte waves, seed 2 train', '' index 7 using 2:3 with linespoints lt 4 lw 2 pt 7 title 'byte waves, seed 2 held-out'
set key bottom right
set title 'held-out accuracy against steps (teacher-forced)'
set xlabel 'step'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot '/work/main/results/learning/curves-20min-waves.png.dat' index 1 using 1:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe again exact patches', '' index 1 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe again bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 3 using 1:4 with linespoints lt 2 lw 2 pt 7 title 'byte layers 3 exact patches', '' index 3 using 1:5 with linespoints lt 2 dt 2 pt 6 title 'byte layers 3 bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 5 using 1:4 with linespoints lt 3 lw 2 pt 7 title 'byte waves exact patches', '' index 5 using 1:5 with linespoints lt 3 dt 2 pt 6 title 'byte waves bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 7 using 1:4 with linespoints lt 4 lw 2 pt 7 title 'byte waves, seed 2 exact patches', '' index 7 using 1:5 with linespoints lt 4 dt 2 pt 6 title 'byte waves, seed 2 bytes'
set title 'held-out accuracy against training time'
set xlabel 'minutes'
set ylabel '%'
unset logscale y
set yrange [0:100]
plot '/work/main/results/learning/curves-20min-waves.png.dat' index 1 using 2:4 with linespoints lt 1 lw 2 pt 7 title 'the recipe again exact patches', '' index 1 using 2:5 with linespoints lt 1 dt 2 pt 6 title 'the recipe again bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 3 using 2:4 with linespoints lt 2 lw 2 pt 7 title 'byte layers 3 exact patches', '' index 3 using 2:5 with linespoints lt 2 dt 2 pt 6 title 'byte layers 3 bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 5 using 2:4 with linespoints lt 3 lw 2 pt 7 title 'byte waves exact patches', '' index 5 using 2:5 with linespoints lt 3 dt 2 pt 6 title 'byte waves bytes', '/work/main/results/learning/curves-20min-waves.png.dat' index 7 using 2:4 with linespoints lt 4 lw 2 pt 7 title 'byte waves, seed 2 exact patches', '' index 7 using 2:5 with linespoints lt 4 dt 2 pt 6 title 'byte waves, seed 2 bytes'
unset multiplot
