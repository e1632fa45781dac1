set terminal pngcairo size 1100,620 font 'DejaVu Sans,10' noenhanced
set output '../mixed-timeline.png'
set title "OLTP latency over time, last run of each configuration (per-second average)"
set xlabel "seconds"
set ylabel "ms"
set grid
set key outside right
set yrange [0:*]
plot 'mixed-pg15_oltp.dat' using 1:2 with lines lw 2 title "15 OLTP alone", 'mixed-pg15_seqscan.dat' using 1:2 with lines lw 2 title "15 Seq Scan", 'mixed-pg15_async.dat' using 1:2 with lines lw 2 title "15 defaults", 'mixed-pg15_dio.dat' using 1:2 with lines lw 2 title "15 defaults dio", 'mixed-pg18_oltp.dat' using 1:2 with lines lw 2 title "18 OLTP alone", 'mixed-pg18_uring_mixed.dat' using 1:2 with lines lw 2 title "18 Seq Scan io_uring"
