#include "snippet.h"

#define SNIPPET_MAX_INPUT 48

void sp_snippet(char *dst, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t shown = len > SNIPPET_MAX_INPUT ? SNIPPET_MAX_INPUT : len;

	if (size == 0)
		return;
	for (size_t i = 0; i < shown && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (shown < len && o + 4 < size) {
		dst[o++] = '.';
		dst[o++] = '.';
		dst[o++] = '.';
	}
	dst[o] = '\0';
}
