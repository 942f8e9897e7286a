/* Just enough ELF to tell whether a preloaded library can reach a program:
 * is it dynamically linked (PT_INTERP), by which C library's loader, does it
 * load libc (DT_NEEDED), of which class and machine, and did the Go linker
 * write it.  Every read is bounded; a file that does not
 * parse is simply "not known". */
#include <elf.h>
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_PHDRS 1024
#define MAX_SHDRS 4096
#define MAX_DYN 4096
#define MAX_NAME 256
#define MAX_SHSTRTAB (1 << 20)

/* The fields used here, whatever the ELF class. */
struct ehdr {
	int is64;
	unsigned machine;
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize, shstrndx;
};
struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};
struct shdr {
	uint32_t name;
	uint64_t offset, size;
};

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	return off <= INT64_MAX && pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static int read_ehdr(int fd, struct ehdr *e)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf64_Ehdr h64;
		Elf32_Ehdr h32;
	} u;
	ssize_t got = pread(fd, &u, sizeof u, 0);

	if (got < (ssize_t)EI_NIDENT || memcmp(u.ident, ELFMAG, SELFMAG) != 0)
		return -1;
#if __BYTE_ORDER == __LITTLE_ENDIAN
	if (u.ident[EI_DATA] != ELFDATA2LSB)
		return -1;
#else
	if (u.ident[EI_DATA] != ELFDATA2MSB)
		return -1;
#endif
	if (u.ident[EI_CLASS] == ELFCLASS64) {
		const Elf64_Ehdr *h = &u.h64;
		if (got < (ssize_t)sizeof *h)
			return -1;
		*e = (struct ehdr){1, h->e_machine, h->e_phoff, h->e_shoff, h->e_phnum, h->e_phentsize,
				   h->e_shnum, h->e_shentsize, h->e_shstrndx};
		return e->phentsize == sizeof(Elf64_Phdr) ? 0 : -1;
	}
	if (u.ident[EI_CLASS] == ELFCLASS32) {
		const Elf32_Ehdr *h = &u.h32;
		if (got < (ssize_t)sizeof *h)
			return -1;
		*e = (struct ehdr){0, h->e_machine, h->e_phoff, h->e_shoff, h->e_phnum, h->e_phentsize,
				   h->e_shnum, h->e_shentsize, h->e_shstrndx};
		return e->phentsize == sizeof(Elf32_Phdr) ? 0 : -1;
	}
	return -1;
}

/* A table of COUNT entries of SIZE bytes at OFF, read at once (the
 * headers of a program are a few kilobytes); NULL when it does not read. */
static unsigned char *read_table(int fd, uint64_t off, size_t count, size_t size)
{
	unsigned char *t = cli_xmalloc(count && size ? count * size : 1);

	if (read_at(fd, t, count * size, off) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

static struct phdr phdr_at(const struct ehdr *e, const unsigned char *table, unsigned i)
{
	if (e->is64) {
		Elf64_Phdr h;
		memcpy(&h, table + (size_t)i * sizeof h, sizeof h);
		return (struct phdr){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
	}
	Elf32_Phdr h;
	memcpy(&h, table + (size_t)i * sizeof h, sizeof h);
	return (struct phdr){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
}

static struct shdr shdr_at(const struct ehdr *e, const unsigned char *table, unsigned i)
{
	if (e->is64) {
		Elf64_Shdr h;
		memcpy(&h, table + (size_t)i * sizeof h, sizeof h);
		return (struct shdr){h.sh_name, h.sh_offset, h.sh_size};
	}
	Elf32_Shdr h;
	memcpy(&h, table + (size_t)i * sizeof h, sizeof h);
	return (struct shdr){h.sh_name, h.sh_offset, h.sh_size};
}

/* Reads a NUL-terminated name of at most MAX_NAME - 1 bytes at OFF. */
static int read_name(int fd, uint64_t off, char name[MAX_NAME])
{
	ssize_t n;

	if (off > INT64_MAX)
		return -1;
	n = pread(fd, name, MAX_NAME - 1, (off_t)off);
	if (n <= 0)
		return -1;
	name[n] = '\0';
	return 0;
}

/* The file offset of virtual address VADDR, through the PT_LOAD segments. */
static int vaddr_to_offset(const struct phdr *ph, unsigned n, uint64_t vaddr, uint64_t *off)
{
	for (unsigned i = 0; i < n; i++)
		if (ph[i].type == PT_LOAD && vaddr >= ph[i].vaddr && vaddr - ph[i].vaddr < ph[i].filesz) {
			*off = ph[i].offset + (vaddr - ph[i].vaddr);
			return 0;
		}
	return -1;
}

/* Whether NAME is a C library: glibc's libc.so.6, musl's libc.so (Alpine:
 * libc.musl-ARCH.so.1). */
static int is_libc(const char *name)
{
	return strncmp(name, "libc.so.", 8) == 0 || strcmp(name, "libc.so") == 0 ||
	       strncmp(name, "libc.musl-", 10) == 0;
}

/* Looks through DT_NEEDED for a C library. */
static int needs_libc(int fd, const struct ehdr *e, const struct phdr *ph, unsigned n, const struct phdr *dyn)
{
	size_t entsize = e->is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
	uint64_t count = dyn->filesz / entsize, strtab = 0, needed[64], stroff;
	unsigned nneeded = 0;
	char name[MAX_NAME];

	if (count > MAX_DYN)
		count = MAX_DYN;
	unsigned char *table = read_table(fd, dyn->offset, (size_t)count, entsize);
	if (!table)
		return 0;
	for (uint64_t i = 0; i < count; i++) {
		int64_t tag;
		uint64_t val;
		if (e->is64) {
			Elf64_Dyn d;
			memcpy(&d, table + i * entsize, sizeof d);
			tag = d.d_tag;
			val = d.d_un.d_val;
		} else {
			Elf32_Dyn d;
			memcpy(&d, table + i * entsize, sizeof d);
			tag = d.d_tag;
			val = d.d_un.d_val;
		}
		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB)
			strtab = val;
		else if (tag == DT_NEEDED && nneeded < sizeof needed / sizeof needed[0])
			needed[nneeded++] = val;
	}
	free(table);
	if (vaddr_to_offset(ph, n, strtab, &stroff) < 0)
		return 0;
	for (unsigned i = 0; i < nneeded; i++)
		if (read_name(fd, stroff + needed[i], name) == 0 && is_libc(name))
			return 1;
	return 0;
}

/* The Go linker writes .note.go.buildid (and .go.buildinfo) into every
 * binary it makes, with cgo or without. */
static int has_go_sections(int fd, const struct ehdr *e)
{
	size_t entsize = e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	unsigned char *table;
	char *names = NULL;
	struct shdr strs;
	int found = 0;

	if (e->shoff == 0 || e->shnum == 0 || e->shnum > MAX_SHDRS || e->shstrndx >= e->shnum ||
	    e->shentsize != entsize)
		return 0;
	/* the section headers and their names, each read at once */
	table = read_table(fd, e->shoff, e->shnum, entsize);
	if (!table)
		return 0;
	strs = shdr_at(e, table, e->shstrndx);
	if (strs.size > 0 && strs.size <= MAX_SHSTRTAB) {
		names = (char *)read_table(fd, strs.offset, (size_t)strs.size, 1);
	}
	for (unsigned i = 0; names && i < e->shnum && !found; i++) {
		struct shdr s = shdr_at(e, table, i);
		if (s.name >= strs.size)
			continue;
		const char *name = names + s.name;
		size_t room = (size_t)strs.size - s.name;
		found = (strnlen(name, room) < room) &&
			(strcmp(name, ".note.go.buildid") == 0 || strcmp(name, ".go.buildinfo") == 0);
	}
	free(names);
	free(table);
	return found;
}

int cli_elf_inspect(int fd, struct cli_elf *out)
{
	struct ehdr e;
	struct phdr *ph, *dyn = NULL;
	unsigned n;

	memset(out, 0, sizeof *out);
	if (read_ehdr(fd, &e) < 0 || e.phnum == 0 || e.phnum > MAX_PHDRS)
		return 0;
	out->is64 = e.is64;
	out->machine = e.machine;
	n = e.phnum;
	ph = cli_xmalloc(n * sizeof *ph);
	unsigned char *table = read_table(fd, e.phoff, n, e.is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr));
	if (!table) {
		free(ph);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		ph[i] = phdr_at(&e, table, i);
		if (ph[i].type == PT_INTERP) {
			char interp[MAX_NAME];
			out->dynamic = 1;
			/* musl's loader is ld-musl-ARCH.so.1, glibc's ld-linux*.so.N */
			if (read_name(fd, ph[i].offset, interp) == 0 &&
			    strncmp(cli_basename(interp), "ld-musl-", 8) == 0)
				out->musl = 1;
		}
		else if (ph[i].type == PT_DYNAMIC)
			dyn = &ph[i];
	}
	if (out->dynamic && dyn)
		out->has_libc = needs_libc(fd, &e, ph, n, dyn);
	out->is_go = has_go_sections(fd, &e);
	free(table);
	free(ph);
	return 1;
}
