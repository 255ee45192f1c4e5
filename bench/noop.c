/*
 * A program that does nothing, for bench/cni.mjs: what a runtime's start of a
 * plugin costs at the least. Built without the C library (x86-64, arm64), and
 * with -DNOOP_WITH_LIBC as a static glibc program, whose start-up (CPU
 * feature detection: CPUID, a trap to the hypervisor on a VM) the difference
 * shows.
 */
#ifdef NOOP_WITH_LIBC
int main(void) {
  return 0;
}
#elif defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n mov $231, %eax\n xor %edi, %edi\n syscall\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl _start\n_start:\n mov x8, #94\n mov x0, #0\n svc 0\n");
#else
#error "without the C library: x86-64 and arm64 only"
#endif
