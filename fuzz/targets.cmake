# fuzz/targets.cmake — the fuzz targets, one line each. Included by
# fuzz/CMakeLists.txt (libFuzzer binaries, clang) and by
# tests/regressions/CMakeLists.txt (the replay test, any compiler), which
# each define trackrelay_fuzz_target() for their purpose.
#
#   trackrelay_fuzz_target(NAME LIBS lib... MAX_LEN bytes [DICT file] [SEEDS glob...])
#
# NAME: fuzz/fuzz_NAME.h defines check_NAME(), fuzz/fuzz_NAME.cc is the entry
# point. DICT: a file in fuzz/dict/. SEEDS: globs under ../shared/corpus that
# scripts/fuzz.sh copies into the seed directory at run time (with
# fuzz/seeds/NAME/ and tests/regressions/NAME/).
trackrelay_fuzz_target(rewrite   LIBS tr_rewrite MAX_LEN 1048576 DICT smtp.dict SEEDS mime/*.eml)
trackrelay_fuzz_target(structure LIBS tr_mime    MAX_LEN 1048576 DICT smtp.dict SEEDS mime/*.eml)
trackrelay_fuzz_target(html      LIBS tr_rewrite MAX_LEN 262144  DICT html.dict SEEDS html/*.html)
trackrelay_fuzz_target(text      LIBS tr_rewrite MAX_LEN 262144  SEEDS text/*.txt)
trackrelay_fuzz_target(codec     LIBS tr_mime    MAX_LEN 16384   SEEDS text/*.txt)
trackrelay_fuzz_target(token     LIBS tr_token   MAX_LEN 8192)
trackrelay_fuzz_target(config    LIBS tr_conf    MAX_LEN 65536   DICT config.dict)
trackrelay_fuzz_target(http      LIBS tr_track   MAX_LEN 8192)
trackrelay_fuzz_target(ari       LIBS tr_acme    MAX_LEN 16384)
