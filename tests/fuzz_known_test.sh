#!/usr/bin/env bash
# tests/fuzz_known_test.sh ROOT: scripts/fuzz.sh --classify tells the known library bugs
# (tests/fuzz/known-library-bugs.txt) from anything else, on crash logs in the sanitizers' and
# libFuzzer's formats: a known stack under another target, a crash in cpusim's own code under a
# known target, and a log without a stack are all "unknown" (the test command's fuzz run fails).
set -uo pipefail
root=${1:?usage: fuzz_known_test.sh ROOT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() {  # NAME TARGET EXPECT(known|unknown) LOG_TEXT
  printf '%s\n' "$4" > "$work/$1.log"
  local got
  if "$root/scripts/fuzz.sh" --classify "$2" "$work/$1.log" > "$work/$1.out"; then got=known; else got=unknown; fi
  if [ "$got" != "$3" ]; then
    echo "FAIL $1: expected $3, got $got ($(cat "$work/$1.out"))"
    fails=1
  else
    echo "ok   $1: $got"
  fi
}
hdf5_overlap='INFO: Seed: 1
==41==ERROR: AddressSanitizer: memcpy-param-overlap: memory ranges [0x602000000010,0x2b6a40000010) and [0x602000000018, 0x2b6a40000018) overlap
    #0 0x4a6f0e in __asan_memcpy (/b/tests/fuzz/fuzz_h5+0x4a6f0e)
    #1 0x7f1c2a3b4c5d in H5HG_read (/lib/x86_64-linux-gnu/libhdf5_serial.so.103+0x1c5d)
    #2 0x7f1c2a3b4d00 in H5T__conv_vlen (/lib/x86_64-linux-gnu/libhdf5_serial.so.103+0x2d00)
    #3 0x5a1b2c in cpusim::datagen::H5Reader::H5Reader(std::string const&) /src/datagen/h5.cpp:80:5
SUMMARY: AddressSanitizer: memcpy-param-overlap (/b/tests/fuzz/fuzz_h5+0x4a6f0e) in __asan_memcpy'
check hdf5-overlap h5 known "$hdf5_overlap"
check hdf5-overlap-other-target trace unknown "$hdf5_overlap"
check hdf5-timeout h5 known 'ALARM: working on the last Unit for 21 seconds
       and the timeout value is 20 (use -timeout=N to change)
==77== ERROR: libFuzzer: timeout after 21 seconds
    #0 0x52d2a1 in __sanitizer_print_stack_trace (/b/tests/fuzz/fuzz_h5+0x52d2a1)
    #1 0x4a0c88 in fuzzer::PrintStackTrace() (/b/tests/fuzz/fuzz_h5+0x4a0c88)
    #2 0x486b53 in fuzzer::Fuzzer::AlarmCallback() (/b/tests/fuzz/fuzz_h5+0x486b53)
    #3 0x7f00aa3c051f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c51f)
    #4 0x7f00ab11e2f0 in H5F__super_read (/lib/x86_64-linux-gnu/libhdf5_serial.so.103+0x11e2f0)'
check own-segv h5 unknown '==90==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000008 (pc 0x5a1b2c bp 0x7ffd sp 0x7ffd T0)
==90==The signal is caused by a READ memory access.
    #0 0x5a1b2c in cpusim::datagen::H5Reader::read_steps(int) /src/datagen/h5.cpp:210:12
    #1 0x5a2000 in LLVMFuzzerTestOneInput /src/tests/fuzz/fuzz_h5.cpp:30:3'
check torch-stack-overflow checkpoint known '==12==ERROR: AddressSanitizer: stack-overflow on address 0x7ffc8e1a2ff8 (pc 0x7f5 bp 0x7ffc sp 0x7ffc T0)
    #0 0x7f5d0c1e2a3b in torch::jit::ScriptTypeParser::parseTypeFromExpr(torch::jit::Expr const&) const (/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13+0x4a3b)'
check ubsan-no-error-line asm unknown '/src/isa/asm.cpp:120:9: runtime error: shift exponent 40 is too large for 32-bit type int
SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior /src/isa/asm.cpp:120:9'
exit $fails
