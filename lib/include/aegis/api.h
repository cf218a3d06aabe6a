/* aegis/api.h — the frame of every public header: C linkage for C++
 * callers, and default symbol visibility.
 *
 * The libraries are compiled with -fvisibility=hidden (meson:
 * gnu_symbol_visibility), so libaegis.so and libaegis_node.so export the
 * functions and data declared between AEG_API_BEGIN and AEG_API_END in
 * <aegis/...> headers and nothing else: module internals (lib/raft's
 * election_*, the node's config parser, the WAL writer's helpers) stay
 * out of an embedder's symbol namespace. Static archives are unaffected
 * at link time (hidden symbols still link into the same executable). */
#ifndef AEGIS_API_H
#define AEGIS_API_H

#ifdef __cplusplus
#define AEG_API_BEGIN _Pragma("GCC visibility push(default)") extern "C" {
#define AEG_API_END } _Pragma("GCC visibility pop")
#else
#define AEG_API_BEGIN _Pragma("GCC visibility push(default)")
#define AEG_API_END _Pragma("GCC visibility pop")
#endif

#endif
