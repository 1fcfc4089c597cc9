/*
 * TEST-ONLY stand-in for bcryptprimitives.dll, which wine 8 lacks: Rust >= 1.78 programs and
 * DLLs for the tier-1 Windows targets call ProcessPrng from it. Only scripts/legs/windows.sh
 * puts this beside the test programs under wine; never ship it (real Windows 10+ has the DLL).
 */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return RtlGenRandom(data, (ULONG)len);
}
