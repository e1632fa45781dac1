set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../slow.png'
set title "Slow storage (slowfs), cold: time per scan"
set ylabel "seconds (median), log scale"
set logscale y
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -35 scale 0 nomirror
set grid ytics
set key top right
set bmargin 7
plot 'slow.dat' using 2:xtic(1) title '+0.5 ms per request', '' using 3 title '+2 ms per request'
