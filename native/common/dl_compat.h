// dlopen and friends, bound to their oldest versions. Prebuilds are made on Debian 12 (glibc 2.36), where
// they moved into libc under the version GLIBC_2.34; binding the original versions keeps the addon loadable
// on glibc 2.28 (Node 20's minimum, e.g. RHEL 8). Newer glibc still exports them. Include it, not <dlfcn.h>.
#pragma once

#include <dlfcn.h>

#if defined(__GLIBC__) && defined(__x86_64__)
#define FABRIC_DL_VERSION "GLIBC_2.2.5"
#elif defined(__GLIBC__) && defined(__aarch64__)
#define FABRIC_DL_VERSION "GLIBC_2.17"
#endif
#ifdef FABRIC_DL_VERSION
__asm__(".symver dlopen,dlopen@" FABRIC_DL_VERSION);
__asm__(".symver dlsym,dlsym@" FABRIC_DL_VERSION);
__asm__(".symver dlerror,dlerror@" FABRIC_DL_VERSION);
#endif
