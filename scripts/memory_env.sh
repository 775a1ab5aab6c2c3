# Memory settings of Sotong's Python processes (Rasa, action server), sourced by scripts/run.sh and
# scripts/run_cluster.sh and read by bench/memory.py, which measured them (bench/README.md,
# "Memory of a Rasa process"). A value already set in the environment wins.
#
# glibc malloc: at most 2 arenas instead of 8 per core. Rasa's threads (Sanic, TensorFlow, the
# JVM of the Okt analyzer) otherwise each get an arena of their own that keeps freed memory.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# The JVM of the Okt analyzer (bot/nlu/analyzers.py): 256 MB of heap instead of konlpy's 1 GB. Okt
# uses about 160 MB on messages of 2,000 characters without spaces; on this 24 GB machine the JVM
# otherwise starts with a 376 MB heap (1/64 of the memory) and grows it.
export SOTONG_JVM_MAX_HEAP_MB="${SOTONG_JVM_MAX_HEAP_MB:-256}"
# The same JVM: the serial garbage collector (G1's threads and remembered sets cost memory a 256 MB
# heap does not need), a 48 MB code cache, 512 KB thread stacks. Measured with bench/memory.py
# (300 Kakao turns, 2026-12-03): Rasa 1,054 -> 998 MB RSS after traffic, 32 -> 25 threads, action
# server 415 -> 332 MB, p50/p99 413/1,028 -> 343/902 ms. The JVM notes "Picked up
# JAVA_TOOL_OPTIONS" once in each process's log.
export JAVA_TOOL_OPTIONS="${JAVA_TOOL_OPTIONS:--XX:+UseSerialGC -XX:ReservedCodeCacheSize=48m -Xss512k}"
