#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU, whose headers clash with the ICU copy inside Foundation. We
   never touch the converter fields that ICU adds to xmlCharEncodingHandler, so leave them out. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

/* xmlFree is a global function pointer, which Swift 6 treats as shared mutable state. */
static inline void postcall_xml_free(void *pointer) { xmlFree(pointer); }
