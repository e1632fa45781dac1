set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../clients-warm.png'
set title "warm, no qual: scans per second (all clients together) vs. clients"
set xlabel "clients (each scans the whole table once, all at the same time)"
set ylabel "scans / s"
set xtics (1, 2, 4)
set grid
set yrange [0:*]
set key outside right
plot 'clients-warm-av-pg15_seqscan.dat' using 1:2 with linespoints lw 2 dt 2 pt 4 lc rgb '#1f77b4' title "all-visible: 15 Seq Scan", 'clients-warm-av-pg15_async.dat' using 1:2 with linespoints lw 2 dt 1 pt 5 lc rgb '#1f77b4' title "all-visible: 15 defaults", 'clients-warm-nv-pg15_seqscan.dat' using 1:2 with linespoints lw 2 dt 2 pt 6 lc rgb '#d62728' title "never-vacuumed: 15 Seq Scan", 'clients-warm-nv-pg15_async.dat' using 1:2 with linespoints lw 2 dt 1 pt 7 lc rgb '#d62728' title "never-vacuumed: 15 defaults", 'clients-warm-part-pg15_seqscan.dat' using 1:2 with linespoints lw 2 dt 2 pt 8 lc rgb '#2ca02c' title "partly all-visible: 15 Seq Scan", 'clients-warm-part-pg15_async.dat' using 1:2 with linespoints lw 2 dt 1 pt 9 lc rgb '#2ca02c' title "partly all-visible: 15 defaults"
