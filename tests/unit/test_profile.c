/*
 * tests/unit/test_profile.c: the flat-profile reader (SPEC §1) and RSC lists
 * (R8): every tag with its default and range, errors that name the tag, the
 * value and the file line, unknown tags kept, hostile XML (DOCTYPE, entity
 * bombs, external entities, depth, size, truncation) and an allocation-failure
 * sweep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/profile.h"

static sipline_profile *parse_ok(const char *xml) {
  sipline_profile *p = NULL;
  sipline_profile_error err;
  int rc = sipline_profile_parse(&p, xml, strlen(xml), NULL, &err);
  if (rc)
    fail_msg("parse failed (%d): %s", rc, err.what);
  return p;
}

static int parse_err(const char *xml, sipline_profile_error *err) {
  sipline_profile *p = (sipline_profile *)1;
  int rc = sipline_profile_parse(&p, xml, strlen(xml), NULL, err);
  assert_null(p);
  assert_int_not_equal(rc, 0);
  return rc;
}

static void test_defaults(void **state) {
  (void)state;
  sipline_profile *p;
  assert_int_equal(sipline_profile_new(&p, NULL), 0);
  assert_int_equal(p->n_lines, 1);
  const sipline_line_cfg *l = sipline_profile_line(p, 1);
  assert_non_null(l);
  assert_null(sipline_profile_line(p, 0));
  assert_null(sipline_profile_line(p, 2));
  assert_int_equal(l->n, 1);
  assert_null(l->proxy);
  assert_null(l->outbound_proxy);
  assert_null(l->alt_proxy);
  assert_null(l->alt_outbound_proxy);
  assert_null(l->user_id);
  assert_null(l->password);
  assert_null(l->auth_id);
  assert_null(l->display_name);
  assert_null(l->answer_play);
  assert_null(l->answer_record_dir);
  assert_int_equal(l->use_auth_id, 0);
  assert_int_equal(l->dual_registration, 0);
  assert_int_equal(l->reg, 1);
  assert_int_equal(l->register_expires, 3600);
  assert_int_equal(l->proxy_fallback_intvl, 3600);
  assert_int_equal(l->auto_register_when_failover, 1);
  assert_int_equal(l->use_dns_srv, 0);
  assert_int_equal(l->dns_srv_auto_prefix, 0);
  assert_int_equal(l->transport, SIPLINE_TP_UDP);
  assert_int_equal(l->sip_port, 5060);
  assert_int_equal(l->auth_resync_reboot, 1);
  assert_int_equal(l->keepalive_intvl, 0);
  assert_int_equal(l->keepalive_fail_count, 3);
  assert_int_equal(p->try_backup_rsc.n, 0);
  assert_int_equal(p->retry_reg_rsc.n, 0);
  assert_int_equal(p->reg_retry_intvl, 30);
  assert_int_equal(p->reg_retry_long_intvl, 1200);
  assert_int_equal(p->reg_retry_random_delay, 0);
  assert_int_equal(p->reg_retry_long_random_delay, 0);
  assert_int_equal(p->reg_retry_intvl_cap, 0);
  assert_int_equal(p->reg_min_expires, 1);
  assert_int_equal(p->reg_max_expires, 7200);
  assert_int_equal(p->t1_ms, 500);
  assert_int_equal(p->t2_ms, 4000);
  assert_int_equal(p->t4_ms, 5000);
  assert_int_equal(p->timer_b_ms, 16000);
  assert_int_equal(p->timer_f_ms, 16000);
  assert_int_equal(p->timer_h_ms, 16000);
  assert_int_equal(p->timer_d_ms, 16000);
  assert_int_equal(p->timer_j_ms, 16000);
  assert_int_equal(p->resync_from_sip, 1);
  assert_int_equal(p->block_nonproxy_sip, 0);
  assert_null(p->resync_command);
  assert_null(p->reboot_command);
  assert_int_equal(p->n_extra, 0);
  assert_int_equal(p->n_warnings, 0);
  sipline_profile_del(p);
  sipline_profile_del(NULL);
}

static const char full[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<flat-profile>\n"
    "  <Proxy_1_ ua=\"na\">pbx.example.com:5080</Proxy_1_>\n"
    "  <Outbound_Proxy_1_>sbc.example.com</Outbound_Proxy_1_>\n"
    "  <Alternate_Proxy_1_>10.0.0.2</Alternate_Proxy_1_>\n"
    "  "
    "<Alternate_Outbound_Proxy_1_>10.0.0.3:5062</Alternate_Outbound_Proxy_1_>\n"
    "  <Dual_Registration_1_>yes</Dual_Registration_1_>\n"
    "  <Register_1_>NO</Register_1_>\n"
    "  <Register_Expires_1_>800</Register_Expires_1_>\n"
    "  <Proxy_Fallback_Intvl_1_>0</Proxy_Fallback_Intvl_1_>\n"
    "  <Auto_Register_When_Failover_1_>No</Auto_Register_When_Failover_1_>\n"
    "  <Use_DNS_SRV_1_>Yes</Use_DNS_SRV_1_>\n"
    "  <DNS_SRV_Auto_Prefix_1_>Yes</DNS_SRV_Auto_Prefix_1_>\n"
    "  <SIP_Transport_1_>tls</SIP_Transport_1_>\n"
    "  <SIP_Port_1_>5070</SIP_Port_1_>\n"
    "  <User_ID_1_>1001</User_ID_1_>\n"
    "  <Password_1_> s3cr&amp;t </Password_1_>\n"
    "  <Auth_ID_1_>auth1001</Auth_ID_1_>\n"
    "  <Use_Auth_ID_1_>Yes</Use_Auth_ID_1_>\n"
    "  <Display_Name_1_>Front Desk</Display_Name_1_>\n"
    "  <Answer_Play_1_>/var/lib/sipline/welcome tone.wav</Answer_Play_1_>\n"
    "  <Answer_Record_Dir_1_>/var/spool/sipline</Answer_Record_Dir_1_>\n"
    "  <Auth_Resync-Reboot_1_>No</Auth_Resync-Reboot_1_>\n"
    "  <Keep_Alive_Intvl_1_>30</Keep_Alive_Intvl_1_>\n"
    "  <Keep_Alive_Fail_Count_1_>5</Keep_Alive_Fail_Count_1_>\n"
    "  <Proxy_3_>pbx3.example.com|pbx3b.example.com:5060:p=2:10</Proxy_3_>\n"
    "  <SIP_Transport_3_>Auto</SIP_Transport_3_>\n"
    "  <Try_Backup_RSC> 503, 5??,6?? </Try_Backup_RSC>\n"
    "  <Retry_Reg_RSC>408,480</Retry_Reg_RSC>\n"
    "  <Reg_Retry_Intvl>10</Reg_Retry_Intvl>\n"
    "  <Reg_Retry_Long_Intvl>0</Reg_Retry_Long_Intvl>\n"
    "  <Reg_Retry_Random_Delay>5</Reg_Retry_Random_Delay>\n"
    "  <Reg_Retry_Long_Random_Delay>7</Reg_Retry_Long_Random_Delay>\n"
    "  <Reg_Retry_Intvl_Cap>600</Reg_Retry_Intvl_Cap>\n"
    "  <Reg_Min_Expires>60</Reg_Min_Expires>\n"
    "  <Reg_Max_Expires>3600</Reg_Max_Expires>\n"
    "  <SIP_T1>0.25</SIP_T1>\n"
    "  <SIP_T2>8</SIP_T2>\n"
    "  <SIP_T4>2.5</SIP_T4>\n"
    "  <SIP_Timer_B>32</SIP_Timer_B>\n"
    "  <SIP_Timer_F>0.1</SIP_Timer_F>\n"
    "  <SIP_Timer_H>1.005</SIP_Timer_H>\n"
    "  <SIP_Timer_D>0</SIP_Timer_D>\n"
    "  <SIP_Timer_J>.5</SIP_Timer_J>\n"
    "  <Resync_From_SIP>No</Resync_From_SIP>\n"
    "  <Block_Nonproxy_SIP>Yes</Block_Nonproxy_SIP>\n"
    "  <Resync_Command>/usr/local/bin/resync --now</Resync_Command>\n"
    "  <Reboot_Command>systemctl restart siplined</Reboot_Command>\n"
    "  <Line_Enable_1_>Yes</Line_Enable_1_>\n"
    "  <Some_Vendor_Thing> hello </Some_Vendor_Thing>\n"
    "  <Empty_Unknown/>\n"
    "</flat-profile>\n";

static void test_every_tag(void **state) {
  (void)state;
  sipline_profile *p = parse_ok(full);
  assert_int_equal(p->n_lines, 3);
  const sipline_line_cfg *l = sipline_profile_line(p, 1);
  assert_string_equal(l->proxy, "pbx.example.com:5080");
  assert_string_equal(l->outbound_proxy, "sbc.example.com");
  assert_string_equal(l->alt_proxy, "10.0.0.2");
  assert_string_equal(l->alt_outbound_proxy, "10.0.0.3:5062");
  assert_int_equal(l->dual_registration, 1);
  assert_int_equal(l->reg, 0);
  assert_int_equal(l->register_expires, 800);
  assert_int_equal(l->proxy_fallback_intvl, 0);
  assert_int_equal(l->auto_register_when_failover, 0);
  assert_int_equal(l->use_dns_srv, 1);
  assert_int_equal(l->dns_srv_auto_prefix, 1);
  assert_int_equal(l->transport, SIPLINE_TP_TLS);
  assert_int_equal(l->sip_port, 5070);
  assert_string_equal(l->user_id, "1001");
  assert_string_equal(l->password, "s3cr&t");
  assert_string_equal(l->auth_id, "auth1001");
  assert_int_equal(l->use_auth_id, 1);
  assert_string_equal(l->display_name, "Front Desk");
  assert_string_equal(l->answer_play, "/var/lib/sipline/welcome tone.wav");
  assert_string_equal(l->answer_record_dir, "/var/spool/sipline");
  assert_int_equal(l->auth_resync_reboot, 0);
  assert_int_equal(l->keepalive_intvl, 30);
  assert_int_equal(l->keepalive_fail_count, 5);
  /* Line 2 was never named: all defaults, its own port. */
  l = sipline_profile_line(p, 2);
  assert_int_equal(l->n, 2);
  assert_null(l->proxy);
  assert_int_equal(l->sip_port, 5061);
  assert_int_equal(l->register_expires, 3600);
  l = sipline_profile_line(p, 3);
  assert_string_equal(l->proxy,
                      "pbx3.example.com|pbx3b.example.com:5060:p=2:10");
  assert_int_equal(l->transport, SIPLINE_TP_AUTO);
  assert_int_equal(l->sip_port, 5062);

  assert_int_equal(p->try_backup_rsc.n, 3);
  assert_memory_equal(p->try_backup_rsc.pat[1], "5??", 3);
  assert_int_equal(p->retry_reg_rsc.n, 2);
  assert_int_equal(p->reg_retry_intvl, 10);
  assert_int_equal(p->reg_retry_long_intvl, 0);
  assert_int_equal(p->reg_retry_random_delay, 5);
  assert_int_equal(p->reg_retry_long_random_delay, 7);
  assert_int_equal(p->reg_retry_intvl_cap, 600);
  assert_int_equal(p->reg_min_expires, 60);
  assert_int_equal(p->reg_max_expires, 3600);
  assert_int_equal(p->t1_ms, 250);
  assert_int_equal(p->t2_ms, 8000);
  assert_int_equal(p->t4_ms, 2500);
  assert_int_equal(p->timer_b_ms, 32000);
  assert_int_equal(p->timer_f_ms, 100);
  assert_int_equal(p->timer_h_ms, 1005);
  assert_int_equal(p->timer_d_ms, 0);
  assert_int_equal(p->timer_j_ms, 500);
  assert_int_equal(p->resync_from_sip, 0);
  assert_int_equal(p->block_nonproxy_sip, 1);
  assert_string_equal(p->resync_command, "/usr/local/bin/resync --now");
  assert_string_equal(p->reboot_command, "systemctl restart siplined");

  /* Unknown tags are kept with their line, not errors. */
  assert_int_equal(p->n_extra, 3);
  assert_string_equal(p->extra[0].tag, "Line_Enable_1_");
  assert_string_equal(p->extra[0].value, "Yes");
  assert_int_equal(p->extra[0].file_line, 49);
  assert_string_equal(p->extra[1].tag, "Some_Vendor_Thing");
  assert_string_equal(p->extra[1].value, "hello");
  assert_string_equal(p->extra[2].tag, "Empty_Unknown");
  assert_string_equal(p->extra[2].value, "");
  assert_int_equal(p->n_warnings, 0);
  sipline_profile_del(p);
}

/* <device><flat-profile> as some provisioning systems write it. */
static void test_device_wrapper(void **state) {
  (void)state;
  sipline_profile *p = parse_ok("<device>\n <flat-profile>\n"
                                "  <Proxy_2_>b</Proxy_2_>\n"
                                " </flat-profile>\n</device>");
  assert_int_equal(p->n_lines, 2);
  assert_string_equal(sipline_profile_line(p, 2)->proxy, "b");
  sipline_profile_del(p);
}

/* Empty elements mean "not set": the default, even after a value. */
static void test_empty_is_default(void **state) {
  (void)state;
  sipline_profile *p =
      parse_ok("<flat-profile><Register_Expires_1_>800</Register_Expires_1_>"
               "<Register_Expires_1_></Register_Expires_1_>"
               "<Proxy_1_>x</Proxy_1_><Proxy_1_>  </Proxy_1_>"
               "<SIP_T1>1</SIP_T1><SIP_T1/>"
               "<Try_Backup_RSC>503</Try_Backup_RSC><Try_Backup_RSC/>"
               "<SIP_Port_2_/><Register_2_></Register_2_>"
               "<Keep_Alive_Fail_Count_1_/>"
               "</flat-profile>");
  const sipline_line_cfg *l = sipline_profile_line(p, 1);
  assert_int_equal(l->register_expires, 3600);
  assert_null(l->proxy);
  assert_int_equal(l->keepalive_fail_count, 3);
  assert_int_equal(p->t1_ms, 500);
  assert_int_equal(p->try_backup_rsc.n, 0);
  assert_int_equal(p->n_lines, 2);
  assert_int_equal(sipline_profile_line(p, 2)->sip_port, 5061);
  assert_int_equal(sipline_profile_line(p, 2)->reg, 1);
  sipline_profile_del(p);
}

/* Ranges at their edges. */
static void test_ranges(void **state) {
  (void)state;
  static const struct {
    const char *tag, *val;
    int ok;
  } cases[] = {
      {"Register_Expires_1_", "32", 1},
      {"Register_Expires_1_", "31", 0},
      {"Register_Expires_1_", "2000000", 1},
      {"Register_Expires_1_", "2000001", 0},
      {"Register_Expires_1_", "-5", 0},
      {"Register_Expires_1_", "99999999999999999999999", 0},
      {"Register_Expires_1_", "3600s", 0},
      {"Proxy_Fallback_Intvl_1_", "0", 1},
      {"Proxy_Fallback_Intvl_1_", "65535", 1},
      {"Proxy_Fallback_Intvl_1_", "65536", 0},
      {"SIP_Port_1_", "0", 0},
      {"SIP_Port_1_", "65535", 1},
      {"SIP_Port_1_", "65536", 0},
      {"Keep_Alive_Fail_Count_1_", "0", 0},
      {"Reg_Retry_Intvl", "0", 0},
      {"Reg_Retry_Long_Intvl", "0", 1},
      {"SIP_T1", "0", 0},
      {"SIP_T1", "0.001", 1},
      {"SIP_T1", "64", 1},
      {"SIP_T1", "64.001", 0},
      {"SIP_T1", "0.0005", 0},
      {"SIP_T1", "1.", 0},
      {"SIP_T1", ".", 0},
      {"SIP_T1", "1e3", 0},
      {"SIP_T4", "0", 1},
      {"SIP_Timer_B", "99999999999999", 0},
      {"Register_1_", "Yess", 0},
      {"Register_1_", "1", 0},
      {"Register_1_", "yEs", 1},
      {"SIP_Transport_1_", "SCTP", 0},
      {"SIP_Transport_1_", "udp", 1},
      {"Proxy_1_", "a b", 0},
      {"Proxy_0_", "a", 0},
      {"Proxy_100000_", "a", 1},
      {"Proxy_100001_", "a", 0},
      {"Proxy_007_", "a", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char xml[512];
    snprintf(xml, sizeof(xml), "<flat-profile>\n\n<%s>%s</%s>\n</flat-profile>",
             cases[i].tag, cases[i].val, cases[i].tag);
    sipline_profile *p = NULL;
    sipline_profile_error err;
    int rc = sipline_profile_parse(&p, xml, strlen(xml), NULL, &err);
    if (cases[i].ok) {
      if (rc)
        fail_msg("%s=%s rejected: %s", cases[i].tag, cases[i].val, err.what);
    } else {
      if (rc != SIPLINE_ERR_CONFIG)
        fail_msg("%s=%s: rc %d", cases[i].tag, cases[i].val, rc);
      /* The error names the tag, the value and the line of the file. */
      assert_string_equal(err.tag, cases[i].tag);
      assert_int_equal(err.file_line, 3);
      assert_non_null(strstr(err.what, cases[i].tag));
      assert_string_equal(err.value, cases[i].val);
    }
    sipline_profile_del(p);
  }
}

static void test_bad_value_names_line(void **state) {
  (void)state;
  sipline_profile_error err;
  int rc = parse_err("<flat-profile>\n"
                     "  <Proxy_1_>a</Proxy_1_>\n"
                     "  <Register_Expires_1_>\n"
                     "    10\n"
                     "  </Register_Expires_1_>\n"
                     "</flat-profile>\n",
                     &err);
  assert_int_equal(rc, SIPLINE_ERR_CONFIG);
  assert_string_equal(err.tag, "Register_Expires_1_");
  assert_string_equal(err.value, "10");
  assert_int_equal(err.file_line, 3);
  assert_string_equal(err.what, "Register_Expires_1_: 10 is below 32");
}

/* A malformed password is reported without echoing it. */
static void test_password_never_echoed(void **state) {
  (void)state;
  sipline_profile_error err;
  int rc = parse_err("<flat-profile><Password_1_>top&#1;secret</Password_1_>"
                     "</flat-profile>",
                     &err);
  /* &#1; is not even allowed by XML 1.0: either way, no echo. */
  assert_true(rc == SIPLINE_ERR_CONFIG || rc == SIPLINE_ERR_MALFORMED);
  assert_null(strstr(err.value, "secret"));
  assert_null(strstr(err.what, "secret"));
  sipline_profile *p;
  assert_int_equal(sipline_profile_new(&p, NULL), 0);
  rc = sipline_profile_set(p, "Password_1_", "top\x01secret", &err);
  assert_int_equal(rc, SIPLINE_ERR_CONFIG);
  assert_null(strstr(err.value, "secret"));
  assert_null(strstr(err.what, "secret"));
  sipline_profile_del(p);
}

static void test_cross_check(void **state) {
  (void)state;
  sipline_profile_error err;
  int rc = parse_err("<flat-profile><Reg_Min_Expires>100</Reg_Min_Expires>"
                     "<Reg_Max_Expires>50</Reg_Max_Expires></flat-profile>",
                     &err);
  assert_int_equal(rc, SIPLINE_ERR_CONFIG);
  assert_string_equal(err.tag, "Reg_Min_Expires");
}

static void test_set(void **state) {
  (void)state;
  sipline_profile *p;
  sipline_profile_error err;
  assert_int_equal(sipline_profile_new(&p, NULL), 0);
  assert_int_equal(sipline_profile_set(p, "Proxy_4_", "10.0.0.1:5060", &err),
                   0);
  assert_int_equal(p->n_lines, 4);
  assert_string_equal(sipline_profile_line(p, 4)->proxy, "10.0.0.1:5060");
  assert_int_equal(sipline_profile_set(p, "Register_Expires_4_", "800", &err),
                   0);
  assert_int_equal(sipline_profile_line(p, 4)->register_expires, 800);
  /* A bad value for a new line does not create it. */
  assert_int_equal(sipline_profile_set(p, "Register_Expires_9_", "x", &err),
                   SIPLINE_ERR_CONFIG);
  assert_int_equal(p->n_lines, 4);
  assert_int_equal(err.file_line, 0);
  assert_int_equal(sipline_profile_set(p, "SIP_T1", "0.5", &err), 0);
  assert_int_equal(sipline_profile_set(p, "Whatever", "v", &err), 0);
  assert_int_equal(p->n_extra, 1);
  assert_int_equal(sipline_profile_set(p, "", "v", &err), SIPLINE_ERR_INVAL);
  assert_int_equal(sipline_profile_set(NULL, "a", "v", &err),
                   SIPLINE_ERR_INVAL);
  /* NULL value = empty = default. */
  assert_int_equal(sipline_profile_set(p, "Proxy_4_", NULL, &err), 0);
  assert_null(sipline_profile_line(p, 4)->proxy);
  /* Many lines, one at a time. */
  for (unsigned n = 5; n <= 2000; n++) {
    char tag[32];
    snprintf(tag, sizeof(tag), "User_ID_%u_", n);
    assert_int_equal(sipline_profile_set(p, tag, tag, &err), 0);
  }
  assert_int_equal(p->n_lines, 2000);
  assert_string_equal(sipline_profile_line(p, 1234)->user_id, "User_ID_1234_");
  assert_int_equal(sipline_profile_line(p, 1234)->sip_port, 5060 + 1233);
  sipline_profile_del(p);
}

static void test_rsc(void **state) {
  (void)state;
  sipline_rsc r;
  unsigned inv;
  char bad[8];
  sipline_rsc_parse(" 503 ,5??, 6??,", &r, &inv, bad, sizeof(bad));
  assert_int_equal(r.n, 3);
  assert_int_equal(inv, 0);
  assert_true(sipline_rsc_match(&r, 503));
  assert_true(sipline_rsc_match(&r, 500));
  assert_true(sipline_rsc_match(&r, 604));
  assert_false(sipline_rsc_match(&r, 404));
  assert_false(sipline_rsc_match(&r, 0));
  assert_false(sipline_rsc_match(&r, -503));
  assert_false(sipline_rsc_match(&r, 5030));
  sipline_rsc_parse("50,5x3,abcd,4??,5 03,???", &r, &inv, bad, sizeof(bad));
  assert_int_equal(r.n, 2);
  assert_int_equal(inv, 4);
  assert_string_equal(bad, "50");
  assert_true(sipline_rsc_match(&r, 404));
  assert_true(sipline_rsc_match(&r, 183));
  sipline_rsc_parse("", &r, &inv, NULL, 0);
  assert_int_equal(r.n, 0);
  assert_int_equal(inv, 0);
  sipline_rsc_parse(NULL, &r, NULL, NULL, 0);
  assert_int_equal(r.n, 0);
  assert_false(sipline_rsc_match(&r, 503));
  /* More tokens than fit: the rest are reported, not silently lost. */
  char big[400] = "";
  for (int i = 0; i < 40; i++)
    strcat(big, "5??,");
  sipline_rsc_parse(big, &r, &inv, bad, sizeof(bad));
  assert_int_equal(r.n, SIPLINE_RSC_MAX);
  assert_int_equal(inv, 40 - SIPLINE_RSC_MAX);
  /* A bad token is copied truncated to the caller's buffer. */
  sipline_rsc_parse("123456789012345", &r, &inv, bad, 4);
  assert_string_equal(bad, "123");

  /* In a profile: reported once as a warning, the rest kept. */
  sipline_profile *p = parse_ok("<flat-profile>\n<Try_Backup_RSC>503,5x,6??,"
                                "7777</Try_Backup_RSC>\n</flat-profile>");
  assert_int_equal(p->try_backup_rsc.n, 2);
  assert_int_equal(p->n_warnings, 1);
  assert_string_equal(p->warnings[0].tag, "Try_Backup_RSC");
  assert_int_equal(p->warnings[0].file_line, 2);
  assert_non_null(strstr(p->warnings[0].value, "'5x'"));
  assert_non_null(strstr(p->warnings[0].value, "2 invalid"));
  sipline_profile_del(p);
}

static void test_transport_name(void **state) {
  (void)state;
  assert_string_equal(sipline_transport_name(SIPLINE_TP_UDP), "UDP");
  assert_string_equal(sipline_transport_name(SIPLINE_TP_TCP), "TCP");
  assert_string_equal(sipline_transport_name(SIPLINE_TP_TLS), "TLS");
  assert_string_equal(sipline_transport_name(SIPLINE_TP_AUTO), "Auto");
}

/* ---- hostile XML ---- */

static void test_doctype_rejected(void **state) {
  (void)state;
  sipline_profile_error err;
  assert_int_equal(parse_err("<!DOCTYPE flat-profile>\n<flat-profile/>", &err),
                   SIPLINE_ERR_MALFORMED);
  assert_non_null(strstr(err.what, "DOCTYPE"));
}

static void test_billion_laughs(void **state) {
  (void)state;
  char xml[4096];
  int n = snprintf(xml, sizeof(xml),
                   "<?xml version=\"1.0\"?>\n"
                   "<!DOCTYPE lolz [\n"
                   " <!ENTITY lol0 \"lol\">\n");
  for (int i = 1; i < 10; i++) {
    n += snprintf(xml + n, sizeof(xml) - (size_t)n, " <!ENTITY lol%d \"", i);
    for (int k = 0; k < 10; k++)
      n += snprintf(xml + n, sizeof(xml) - (size_t)n, "&lol%d;", i - 1);
    n += snprintf(xml + n, sizeof(xml) - (size_t)n, "\">\n");
  }
  snprintf(xml + n, sizeof(xml) - (size_t)n,
           "]>\n<flat-profile><Proxy_1_>&lol9;</Proxy_1_></flat-profile>");
  sipline_profile_error err;
  assert_int_equal(parse_err(xml, &err), SIPLINE_ERR_MALFORMED);
  assert_int_equal(err.file_line, 2);
  assert_non_null(strstr(err.what, "DOCTYPE"));
}

static void test_entities(void **state) {
  (void)state;
  sipline_profile_error err;
  /* External entity. */
  assert_int_equal(
      parse_err("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "
                "\"file:///etc/passwd\">]>\n<flat-profile><Proxy_1_>&e;"
                "</Proxy_1_></flat-profile>",
                &err),
      SIPLINE_ERR_MALFORMED);
  /* External DTD. */
  assert_int_equal(
      parse_err("<!DOCTYPE flat-profile SYSTEM \"http://evil/x.dtd\">"
                "<flat-profile/>",
                &err),
      SIPLINE_ERR_MALFORMED);
  /* Undeclared entity reference without any DTD. */
  assert_int_equal(
      parse_err("<flat-profile><Proxy_1_>&e;</Proxy_1_></flat-profile>", &err),
      SIPLINE_ERR_MALFORMED);
  /* The five predefined ones and character references work. */
  sipline_profile *p = parse_ok("<flat-profile><Display_Name_1_>&lt;&gt;&amp;"
                                "&apos;&quot;&#65;&#x42;</Display_Name_1_>"
                                "</flat-profile>");
  assert_string_equal(sipline_profile_line(p, 1)->display_name, "<>&'\"AB");
  sipline_profile_del(p);
}

static void test_depth_limit(void **state) {
  (void)state;
  /* 8 levels are fine (a leaf at depth 8 is a parameter). */
  char xml[2048] = "<flat-profile>";
  for (int i = 2; i <= 7; i++)
    strcat(xml, "<g>");
  strcat(xml, "<Proxy_1_>deep</Proxy_1_>");
  for (int i = 2; i <= 7; i++)
    strcat(xml, "</g>");
  strcat(xml, "</flat-profile>");
  sipline_profile *p = parse_ok(xml);
  assert_string_equal(sipline_profile_line(p, 1)->proxy, "deep");
  sipline_profile_del(p);
  /* 9 levels are not. */
  strcpy(xml, "<flat-profile>");
  for (int i = 2; i <= 8; i++)
    strcat(xml, "<g>");
  strcat(xml, "<Proxy_1_>deep</Proxy_1_>");
  for (int i = 2; i <= 8; i++)
    strcat(xml, "</g>");
  strcat(xml, "</flat-profile>");
  sipline_profile_error err;
  assert_int_equal(parse_err(xml, &err), SIPLINE_ERR_TOOBIG);
  assert_non_null(strstr(err.what, "deeper"));
  /* Very deep: fails fast at the limit. */
  char *deep = malloc(100000 * 3 + 32);
  memcpy(deep, "<flat-profile>", 14);
  for (int i = 0; i < 100000; i++)
    memcpy(deep + 14 + i * 3, "<a>", 3);
  deep[14 + 100000 * 3] = 0;
  assert_int_equal(parse_err(deep, &err), SIPLINE_ERR_TOOBIG);
  free(deep);
}

static void test_size_limit(void **state) {
  (void)state;
  size_t max = SIPLINE_PROFILE_MAX_SIZE;
  char *xml = malloc(max + 2);
  sipline_profile_error err;
  sipline_profile *p = NULL;
  /* One byte over the limit is refused before parsing. */
  memset(xml, ' ', max + 1);
  memcpy(xml, "<flat-profile>", 14);
  memcpy(xml + max + 1 - 15, "</flat-profile>", 15);
  xml[max + 1] = 0;
  assert_int_equal(sipline_profile_parse(&p, xml, max + 1, NULL, &err),
                   SIPLINE_ERR_TOOBIG);
  assert_null(p);
  /* Exactly at the limit is read. */
  memset(xml, ' ', max + 1);
  memcpy(xml, "<flat-profile>", 14);
  memcpy(xml + max - 15, "</flat-profile>", 15);
  assert_int_equal(sipline_profile_parse(&p, xml, max, NULL, &err), 0);
  sipline_profile_del(p);
  free(xml);
  /* A single value over 4 KiB. */
  char *big = malloc(8192 + 64);
  strcpy(big, "<flat-profile><Proxy_1_>");
  memset(big + 24, 'a', 8192);
  strcpy(big + 24 + 8192, "</Proxy_1_></flat-profile>");
  assert_int_equal(parse_err(big, &err), SIPLINE_ERR_TOOBIG);
  assert_string_equal(err.tag, "Proxy_1_");
  free(big);
}

/* A fleet: 10,000 lines in one profile, as bench/fleet/gen.sh writes it
 * (~1.8 MB; the former 1 MiB limit refused it), every line read. */
static void test_fleet_10000_lines(void **state) {
  (void)state;
  enum { N = 10000 };
  size_t cap = (size_t)N * 256 + 64, len = 0;
  char *xml = malloc(cap);
  assert_non_null(xml);
  len += (size_t)snprintf(xml, cap, "<flat-profile>\n");
  for (unsigned i = 1; i <= N; i++)
    len += (size_t)snprintf(
        xml + len, cap - len,
        "<Proxy_%u_>127.0.0.1:5060:p=1|127.0.0.1:5070:p=2</Proxy_%u_>"
        "<User_ID_%u_>%u</User_ID_%u_><Password_%u_>pw%u</Password_%u_>"
        "<SIP_Port_%u_>5080</SIP_Port_%u_>\n",
        i, i, i, 100000 + i, i, i, 100000 + i, i, i, i);
  len += (size_t)snprintf(xml + len, cap - len, "</flat-profile>\n");
  assert_true(len > 1024u * 1024u);
  assert_true(len <= SIPLINE_PROFILE_MAX_SIZE);
  sipline_profile *p = NULL;
  sipline_profile_error err;
  int rc = sipline_profile_parse(&p, xml, len, NULL, &err);
  if (rc)
    fail_msg("parse failed (%d): %s", rc, err.what);
  assert_int_equal(p->n_lines, N);
  const unsigned probe[] = {1, 4999, N};
  for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
    const sipline_line_cfg *l = sipline_profile_line(p, probe[k]);
    char want[32];
    assert_non_null(l);
    assert_int_equal(l->n, probe[k]);
    snprintf(want, sizeof want, "%u", 100000 + probe[k]);
    assert_string_equal(l->user_id, want);
    snprintf(want, sizeof want, "pw%u", 100000 + probe[k]);
    assert_string_equal(l->password, want);
    assert_string_equal(l->proxy, "127.0.0.1:5060:p=1|127.0.0.1:5070:p=2");
    assert_int_equal(l->sip_port, 5080);
  }
  assert_null(sipline_profile_line(p, N + 1));
  sipline_profile_del(p);
  free(xml);
}

static void test_malformed(void **state) {
  (void)state;
  static const char *bad[] = {
      "",
      "<flat-profile>",
      "<flat-profile><Proxy_1_>a</Proxy_1_>",
      "<flat-profile><Proxy_1_>a</Proxy_2_></flat-profile>",
      "<flat-profile><Proxy_1_>a</Proxy_1_></flat-profile><x/>",
      "<flat-profile><Proxy_1_ a='1' a='2'>a</Proxy_1_></flat-profile>",
      "<flat-profile>\xff\xfe</flat-profile>",
      "<profile><Proxy_1_>a</Proxy_1_></profile>",
      "not xml at all",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sipline_profile_error err;
    sipline_profile *p = NULL;
    int rc = sipline_profile_parse(&p, bad[i], strlen(bad[i]), NULL, &err);
    if (rc != SIPLINE_ERR_MALFORMED)
      fail_msg("case %zu: rc %d", i, rc);
    assert_null(p);
    assert_true(strlen(err.what) > 0);
  }
  /* A truncated copy of the full profile at every length fails cleanly. */
  size_t len = strlen(full);
  for (size_t cut = 0; cut < len - 2; cut++) {
    sipline_profile *p = NULL;
    sipline_profile_error err;
    int rc = sipline_profile_parse(&p, full, cut, NULL, &err);
    assert_int_not_equal(rc, 0);
    assert_null(p);
  }
  assert_int_equal(sipline_profile_parse(NULL, "", 0, NULL, NULL),
                   SIPLINE_ERR_INVAL);
}

/* ---- allocation failures ---- */

typedef struct failmem {
  long countdown; /* allocations left before failing; < 0 = never fail */
  long live;
} failmem;

static void *f_malloc(size_t n, void *u) {
  failmem *f = u;
  if (f->countdown == 0)
    return NULL;
  if (f->countdown > 0)
    f->countdown--;
  void *p = malloc(n);
  if (p)
    f->live++;
  return p;
}
static void f_free(void *p, void *u) {
  failmem *f = u;
  if (p)
    f->live--;
  free(p);
}
static void *f_realloc(void *p, size_t n, void *u) {
  failmem *f = u;
  if (f->countdown == 0)
    return NULL;
  if (f->countdown > 0)
    f->countdown--;
  void *q = realloc(p, n);
  if (q && !p)
    f->live++;
  return q;
}

static void test_alloc_sweep(void **state) {
  (void)state;
  int ok = 0;
  for (long k = 0; k < 10000 && !ok; k++) {
    failmem f = {k, 0};
    sipline_mem m = {&f, f_malloc, f_free, NULL, f_realloc};
    sipline_profile *p = NULL;
    sipline_profile_error err;
    int rc = sipline_profile_parse(&p, full, strlen(full), &m, &err);
    if (rc == 0) {
      ok = 1;
      assert_string_equal(sipline_profile_line(p, 1)->password, "s3cr&t");
      sipline_profile_del(p);
    } else {
      assert_int_equal(rc, SIPLINE_ERR_NOMEM);
      assert_null(p);
    }
    assert_int_equal(f.live, 0);
  }
  assert_true(ok);
}

static void test_copy(void **state) {
  (void)state;
  sipline_profile *p = parse_ok(full);
  assert_int_equal(sipline_profile_set(p, "Try_Backup_RSC", "5x", NULL), 0);
  assert_int_equal(p->n_warnings, 1);
  sipline_profile *c = NULL;
  assert_int_equal(sipline_profile_copy(&c, p, NULL), 0);
  sipline_profile_del(p); /* the copy shares nothing */
  assert_int_equal(c->n_lines, 3);
  assert_string_equal(sipline_profile_line(c, 1)->password, "s3cr&t");
  assert_string_equal(sipline_profile_line(c, 3)->proxy,
                      "pbx3.example.com|pbx3b.example.com:5060:p=2:10");
  assert_string_equal(c->reboot_command, "systemctl restart siplined");
  assert_string_equal(sipline_profile_line(c, 1)->answer_play,
                      "/var/lib/sipline/welcome tone.wav");
  assert_string_equal(sipline_profile_line(c, 1)->answer_record_dir,
                      "/var/spool/sipline");
  assert_int_equal(c->n_extra, 3);
  assert_string_equal(c->extra[1].value, "hello");
  assert_int_equal(c->n_warnings, 1);
  assert_int_equal(c->t1_ms, 250);
  /* The copy can grow. */
  assert_int_equal(sipline_profile_set(c, "Proxy_9_", "x", NULL), 0);
  assert_int_equal(c->n_lines, 9);
  assert_int_equal(sipline_profile_set(c, "New_Tag", "x", NULL), 0);
  assert_int_equal(c->n_extra, 4);
  /* Failing allocations: never a leak, never a half copy. */
  int ok = 0;
  for (long k = 0; k < 1000 && !ok; k++) {
    failmem f = {k, 0};
    sipline_mem m = {&f, f_malloc, f_free, NULL, f_realloc};
    sipline_profile *d = NULL;
    int rc = sipline_profile_copy(&d, c, &m);
    if (rc == 0) {
      ok = 1;
      sipline_profile_del(d);
    } else {
      assert_int_equal(rc, SIPLINE_ERR_NOMEM);
      assert_null(d);
    }
    assert_int_equal(f.live, 0);
  }
  assert_true(ok);
  assert_int_equal(sipline_profile_copy(&p, NULL, NULL), SIPLINE_ERR_INVAL);
  sipline_profile_del(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_every_tag),
      cmocka_unit_test(test_device_wrapper),
      cmocka_unit_test(test_empty_is_default),
      cmocka_unit_test(test_ranges),
      cmocka_unit_test(test_bad_value_names_line),
      cmocka_unit_test(test_password_never_echoed),
      cmocka_unit_test(test_cross_check),
      cmocka_unit_test(test_set),
      cmocka_unit_test(test_rsc),
      cmocka_unit_test(test_transport_name),
      cmocka_unit_test(test_doctype_rejected),
      cmocka_unit_test(test_billion_laughs),
      cmocka_unit_test(test_entities),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_size_limit),
      cmocka_unit_test(test_fleet_10000_lines),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_alloc_sweep),
      cmocka_unit_test(test_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
