/*
 * xw_test_whole_tree.h - the reference a streamed step 2 body is held
 * against: what h_prod_deploy answered before it streamed (the whole body
 * as one tree, then the "objects" member, its size and the other keys).
 * Header-only, shared by the unit test of xw_json_items and the fuzz
 * target, so both compare with the same reference.
 */
#ifndef XW_TEST_WHOLE_TREE_H
#define XW_TEST_WHOLE_TREE_H

#include "xw_json.h"

/* 0 with *body (NEW) and *objs (borrowed from it), or -1 with e filled
 * and *body NULL. max_items, max_len: as xw_json_items_init. */
static int xw_test_whole_tree(const char *d, size_t n, size_t max_items,
                              size_t max_len, json_t **body, json_t **objs,
                              xw_json_err *e)
{
    static const char *const allowed[] = { "objects", NULL };

    *body = *objs = NULL;
    if (n == 0) {
        xw_json_err_set(e, 400, "body", "required", "empty");
        return -1;
    }
    if (!(*body = xw_json_parse(d, n, max_len, e)))
        return -1;
    if (!json_is_object(*body))
        xw_json_err_set(e, 400, "body", "type", "not an object");
    else if (xw_json_get_array(*body, "objects", max_items, XW_JSON_REQUIRED,
                               objs, e) < 0)
        ;
    else if (json_array_size(*objs) < 1)
        xw_json_err_set(e, 400, "objects", "min_items", "empty");
    else if (xw_json_check_keys(*body, allowed, e) == 0)
        return 0;
    json_decref(*body);
    *body = *objs = NULL;
    return -1;
}

#endif
