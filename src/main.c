/*
 * main.c: crosscheck's entry point; everything else is in the library that tests link.
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
