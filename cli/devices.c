/* devices.c: `aplcl devices`, the platform and device list with the indices "P:D" select. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f) {
    fprintf(f, "usage: aplcl devices\n"
               "  Lists every OpenCL platform and device with the \"P:D\" indices --device and\n"
               "  APLCL_DEVICE take (a substring of the \"platform device\" names works too).\n");
}

int cli_devices(int argc, char **argv) {
    int pr = cli_parse("aplcl devices", argc, argv, NULL, 0, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    size_t count = 0;
    aplcl_status st = aplcl_list_devices(NULL, 0, &count);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl devices: %s\n", aplcl_status_string(st));
        return 1;
    }
    aplcl_device_info *infos = calloc(count ? count : 1, sizeof *infos);
    if (!infos)
        return 1;
    aplcl_list_devices(infos, count, &count);
    printf("%-5s %-28s %-44s %4s %9s %9s %5s  %s\n", "P:D", "platform", "device", "CUs", "mem(MiB)",
           "alloc(MiB)", "fp64", "version");
    for (size_t i = 0; i < count; ++i) {
        const aplcl_device_info *d = &infos[i];
        char idx[16];
        snprintf(idx, sizeof idx, "%u:%u", d->platform_index, d->device_index);
        printf("%-5s %-28.28s %-44.44s %4u %9llu %9llu %5s  %s\n", idx, d->platform_name,
               d->device_name, d->compute_units, (unsigned long long)(d->global_mem_bytes >> 20),
               (unsigned long long)(d->max_alloc_bytes >> 20), d->has_fp64 ? "yes" : "no",
               d->device_version);
    }
    free(infos);
    return cli_close_output(stdout, NULL, "aplcl devices") ? 1 : 0;
}
