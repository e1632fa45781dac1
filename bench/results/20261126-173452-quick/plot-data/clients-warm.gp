set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../clients-warm.png'
set title "warm: scans per second (all clients together) vs. clients"
set xlabel "clients (each scans the whole table once, all at the same time)"
set ylabel "scans / s"
set xtics (1, 4)
set grid
set yrange [0:*]
set key outside right
plot 'warm-clients.dat' using 1:2 with linespoints lw 2 pt 4 lc rgb '#555555' title "15 Seq Scan", 'warm-clients.dat' using 1:3 with linespoints lw 2 pt 5 lc rgb '#1f77b4' title "15 io_uring dio", 'warm-clients.dat' using 1:4 with linespoints lw 2 pt 6 lc rgb '#2ca02c' title "18 io_uring", 'warm-clients.dat' using 1:5 with linespoints lw 2 pt 7 lc rgb '#9467bd' title "18 async io_uring dio"
