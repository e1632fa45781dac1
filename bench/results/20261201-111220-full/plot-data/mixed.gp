set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../mixed.png'
set title "OLTP latency (tpcb-like at a fixed rate) next to one scanning client"
set ylabel "ms (median over runs)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30 scale 0 nomirror
set grid ytics
set yrange [0:*]
set key top left
set bmargin 6
plot 'mixed.dat' using 2:xtic(1) title 'avg', '' using 3 title 'p95', '' using 4 title 'p99'
