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
