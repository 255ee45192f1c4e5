/*
 * Loads a prebuilt addon the way Node would, without Node: dlopen(), then
 * the N-API entry point. Built for the addon's architecture and run there
 * (under qemu-user for another one, on that architecture's C library) by
 * scripts/check-prebuilds.mjs, with every napi_* function the addon needs
 * defined as an empty stub in the executable, where Node would define them.
 * Exits 0 when the dynamic linker resolved the rest: the C and C++ libraries,
 * with the symbol versions the addon asks for.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: load-check ADDON\n");
    return 2;
  }
  void *addon = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!addon) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  if (!dlsym(addon, "napi_register_module_v1")) {
    fprintf(stderr, "%s has no napi_register_module_v1\n", argv[1]);
    return 1;
  }
  return 0;
}
