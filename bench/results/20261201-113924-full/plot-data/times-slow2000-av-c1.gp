set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../times-slow2000-av-c1.png'
set title "slow device +2 ms, all-visible, cold: time per scan"
set ylabel "ms (median; bars: min-max)"
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -35 scale 0 nomirror
set grid ytics
set yrange [0:*]
set xrange [-0.6:8.6]
set key off
set bmargin 7
set arrow from graph 0, first 4019.2 to graph 1, first 4019.2 nohead dt 2 lc rgb '#444444'
set label 'PG15 Seq Scan' at graph 0.99, first 4019.2 right offset 0,0.6 textcolor rgb '#444444'
plot 'slow2000-av-c1.dat' using 0:2:5:xtic(1) with boxes lc rgb variable, \
     '' using 0:2:3:4 with yerrorbars lc rgb '#222222' pt 0 lw 1.5, \
     '' using 0:4:(sprintf('%.0f', $2)) with labels offset 0,0.8 font ',9'
