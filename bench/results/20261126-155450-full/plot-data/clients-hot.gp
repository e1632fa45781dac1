set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../clients-hot.png'
set title "hot: scans per second (all clients together) vs. clients"
set xlabel "clients (each scans the whole table once, all at the same time)"
set ylabel "scans / s"
set xtics (1, 2, 4)
set grid
set yrange [0:*]
set key outside right
plot 'hot-clients.dat' using 1:2 with linespoints lw 2 pt 4 lc rgb '#555555' title "15 Seq Scan", 'hot-clients.dat' using 1:3 with linespoints lw 2 pt 5 lc rgb '#1f77b4' title "15 sync", 'hot-clients.dat' using 1:4 with linespoints lw 2 pt 6 lc rgb '#2ca02c' title "15 sync dio", 'hot-clients.dat' using 1:5 with linespoints lw 2 pt 7 lc rgb '#9467bd' title "15 io_uring", 'hot-clients.dat' using 1:6 with linespoints lw 2 pt 8 lc rgb '#17becf' title "15 io_uring dio", 'hot-clients.dat' using 1:7 with linespoints lw 2 pt 9 lc rgb '#8c564b' title "15 worker", 'hot-clients.dat' using 1:8 with linespoints lw 2 pt 10 lc rgb '#d62728' title "15 worker dio", 'hot-clients.dat' using 1:9 with linespoints lw 2 pt 11 lc rgb '#ff7f0e' title "15 io_uring dio d32 c64", 'hot-clients.dat' using 1:10 with linespoints lw 2 pt 12 lc rgb '#e377c2' title "18 sync", 'hot-clients.dat' using 1:11 with linespoints lw 2 pt 13 lc rgb '#bcbd22' title "18 worker", 'hot-clients.dat' using 1:12 with linespoints lw 2 pt 14 lc rgb '#7f7f7f' title "18 io_uring"
