/* apl_3u_units.cl: how a work-group's units (steps, elements or words) are shared among its items.
 *
 * Shared by the loss kernel (apl_4_loss.cl) and the count kernel (apl_4_count.cl). Nothing else.
 */

/* How a group's APL_LOCAL * per_item units are shared among its items. GPUs (APL_CONTIGUOUS 0):
 * item l takes every APL_LOCAL-th unit from l, so neighbouring lanes touch neighbouring memory
 * (coalesced). CPUs (APL_CONTIGUOUS 1): PoCL runs a group's items one after another on one
 * thread, so item l takes per_item consecutive units; strided, a group swept its range
 * APL_LOCAL times and fell out of cache once the range outgrew L2 (4096x1000: 0.44 vs 3.8 G/s
 * at 1024x1000 for the all-ignored floor). */
#if APL_CONTIGUOUS
#define UNIT_STRIDE 1
inline ulong first_unit(ulong per_item) {
    return ((ulong)get_group_id(0) * APL_LOCAL + get_local_id(0)) * per_item;
}
#else
#define UNIT_STRIDE APL_LOCAL
inline ulong first_unit(ulong per_item) {
    return (ulong)get_group_id(0) * APL_LOCAL * per_item + get_local_id(0);
}
#endif

