/* libc_only.c — a program that links every object of node/core with libc alone (see
 * node/core/CMakeLists.txt). If it links, node/core depends on nothing else. */
int main(void)
{
    return 0;
}
