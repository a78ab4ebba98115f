// Chinese first, English switchable. Each entry is [中文, English]; the server's own messages come in both
// languages already (msg_zh / msg, verdict_zh / verdict_en) and are picked with `pick`.
const STRINGS = {
  app_name: ["发票查验", "Fapiao check"],
  brand_sub: ["Fapiao Sentinel", "Fapiao Sentinel"],
  search_label: ["查验发票", "Check an invoice"],
  search_placeholder: ["发票代码+号码 / 数电票号码 / 二维码", "Code + number / 数电 number / QR text"],
  search_go: ["查验", "Check"],
  search_file: ["选择发票文件(PDF/OFD/XML)", "Choose an invoice file (PDF/OFD/XML)"],
  search_hint: ["也可把 PDF、OFD、XML 电子发票拖到此处", "or drop a PDF, OFD or XML e-invoice here"],
  lang_switch: ["English", "中文"],
  online: ["在线", "Online"],
  offline: ["离线：查验将保存在本机，联网后自动提交", "Offline: checks are kept on this device and sent when back online"],
  skip: ["跳到主要内容", "Skip to content"],
  nav: ["主导航", "Main navigation"],
  nav_home: ["首页", "Home"],
  nav_check: ["查验", "Check"],
  nav_batch: ["批量", "Batch"],
  nav_history: ["记录", "History"],
  nav_analytics: ["分析", "Trends"],
  nav_alerts: ["预警", "Alerts"],
  nav_account: ["我的", "Account"],
  loading: ["加载中…", "Loading…"],
  required: ["必填", "required"],
  network_error: ["网络不可用，请稍后重试", "The network is unavailable: try again later"],
  error_generic: ["出错了：{msg}", "Something went wrong: {msg}"],
  invalid_value: ["格式不正确", "invalid value"],
  // home
  home_title: ["常用功能", "Shortcuts"],
  home_welcome: ["欢迎使用发票查验。登录后即可查验发票、批量查验和查看历史记录。", "Welcome. Log in to check invoices, upload batches and see your history."],
  home_login: ["登录 / 注册", "Log in / register"],
  sc_check: ["发票查验", "Check an invoice"],
  sc_check_d: ["单张查验，毫秒出结果", "One invoice, answered in milliseconds"],
  sc_batch: ["批量查验", "Batch check"],
  sc_batch_d: ["上传表格或电子发票", "Upload a spreadsheet or e-invoices"],
  sc_history: ["历史查验记录", "Check history"],
  sc_history_d: ["筛选、导出", "Filter and export"],
  sc_analytics: ["智能数据分析", "Analytics"],
  sc_analytics_d: ["趋势与报告", "Trends and the report"],
  sc_alerts: ["风险预警", "Risk alerts"],
  sc_alerts_d: ["实时推送", "Live"],
  sc_account: ["账户与安全", "Account & security"],
  sc_account_d: ["登录、两步验证", "Login, two-factor"],
  sc_keys: ["API 密钥", "API keys"],
  sc_keys_d: ["系统对接(管理员)", "For your systems (admins)"],
  sc_feedback: ["意见反馈", "Feedback"],
  sc_feedback_d: ["告诉我们您的建议", "Tell us what to improve"],
  // check form
  check_title: ["发票查验", "Check an invoice"],
  f_code: ["发票代码", "Invoice code"],
  f_number: ["发票号码", "Invoice number"],
  f_date: ["开票日期", "Issue date"],
  f_fourth_kind: ["第四项", "Fourth field"],
  f_fourth_unknown: ["校验码后6位或金额", "Check code (last 6) or amount"],
  kind_check_code: ["校验码后6位", "Last 6 of the check code"],
  kind_amount: ["金额", "Amount"],
  f_code_hint: ["10 或 12 位；数电发票无发票代码", "10 or 12 digits; 数电 invoices have none"],
  f_submit: ["查 验", "Check"],
  f_clear: ["清空", "Clear"],
  form_offline_manual: ["离线状态下无法识别发票类型，请逐项填写并选择第四项。", "Offline, the invoice type can't be told: fill in each field and choose the fourth one."],
  type_digital: ["数电发票", "Fully digital (数电) invoice"],
  type_unknown: ["请填写发票代码以确定发票类型", "Fill in the code to tell the invoice type"],
  doc_reading: ["正在读取 {name}…", "Reading {name}…"],
  doc_read: ["已从 {name} 读取（可信度 {c}）", "Read from {name} (confidence {c})"],
  queued_offline: ["当前离线，查验已保存在本机，联网后自动提交。", "You are offline: the check is kept on this device and sent when back online."],
  // verdict card
  v_pending: ["查验中…", "Checking…"],
  v_pending_sync: ["发票信息尚未同步，到达后自动更新", "Not in the register yet: this updates by itself when it arrives"],
  v_count: ["第 {n} 次查验", "Check no. {n}"],
  v_status: ["发票状态", "Invoice status"],
  v_differs: ["不一致的项目", "Fields that differ"],
  v_face: ["票面信息", "Invoice face"],
  v_seller: ["销售方", "Seller"],
  v_buyer: ["购买方", "Buyer"],
  v_items: ["货物或应税劳务、服务名称", "Items"],
  v_amount: ["金额", "Amount"],
  v_tax: ["税额", "Tax"],
  v_total: ["价税合计", "Total incl. tax"],
  v_rate: ["税率", "Rate"],
  v_remarks: ["备注", "Remarks"],
  v_refresh: ["手动刷新", "Refresh now"],
  v_receipt: ["下载查验证明(PDF)", "Download the receipt (PDF)"],
  v_new: ["新的查验", "New check"],
  v_follow_up: ["后续结果：发票状态在查验后发生了变化", "Follow-up: the invoice changed after it was checked"],
  v_updated: ["结果已更新", "Result updated"],
  v_decided: ["查验时间", "Checked at"],
  st_normal: ["正常", "normal"],
  st_voided: ["作废", "voided"],
  st_red_flushed_partial: ["部分红冲", "partly red-flushed"],
  st_red_flushed_full: ["全额红冲", "fully red-flushed"],
  st_abnormal: ["异常", "abnormal"],
  fld_invoice_code: ["发票代码", "invoice code"],
  fld_invoice_number: ["发票号码", "invoice number"],
  fld_issue_date: ["开票日期", "issue date"],
  fld_amount: ["金额", "amount"],
  fld_check_code: ["校验码", "check code"],
  fld_total: ["价税合计", "total"],
  vd_consistent: ["一致", "consistent"],
  vd_inconsistent: ["不一致", "inconsistent"],
  vd_not_found: ["查无此票", "not found"],
  vd_pending_sync: ["尚未同步", "not synced yet"],
  vd_voided: ["作废", "voided"],
  vd_red_flushed_partial: ["部分红冲", "partly red-flushed"],
  vd_red_flushed_full: ["全额红冲", "fully red-flushed"],
  vd_abnormal: ["异常", "abnormal"],
  vd_limit_exceeded: ["超过当日次数", "daily limit reached"],
  vd_too_old: ["超过五年", "over five years old"],
  vd_invalid: ["请求不合法", "invalid request"],
  // offline queue
  q_title: ["离线查验队列", "Offline queue"],
  q_queued: ["等待网络", "waiting for the network"],
  q_sending: ["提交中", "sending"],
  q_checking: ["已提交，查验中", "sent, checking"],
  q_done: ["已完成", "done"],
  q_failed: ["未受理", "refused"],
  q_needs_login: ["需要登录后提交", "log in to send"],
  q_remove: ["移除", "Remove"],
  q_open: ["查看结果", "Open"],
  // batch
  b_title: ["批量查验", "Batch check"],
  b_intro: ["上传一个 CSV/XLSX 表格，或多张 PDF/OFD/XML 电子发票（可打包为 ZIP）。", "Upload one CSV/XLSX sheet, or PDF/OFD/XML e-invoices (ZIPs welcome)."],
  b_template: ["下载模板", "Template"],
  b_files: ["选择文件", "Files"],
  b_drop: ["或将文件拖到这里", "or drop files here"],
  b_upload: ["上传并查验", "Upload and check"],
  b_uploading: ["正在上传…", "Uploading…"],
  b_progress: ["已完成 {done} / {total}", "{done} of {total} done"],
  b_finished: ["全部完成", "All done"],
  b_rejected: ["未受理 {n} 行", "{n} rows refused"],
  b_line: ["第 {n} 行", "line {n}"],
  b_download: ["下载结果", "Download results"],
  b_none: ["请先选择文件", "Choose a file first"],
  // history
  h_title: ["历史查验记录", "Check history"],
  h_from: ["开始日期", "From"],
  h_to: ["结束日期", "To"],
  h_verdict: ["查验结果", "Verdict"],
  h_all: ["全部", "All"],
  h_seller: ["销售方(税号或名称)", "Seller (tax id or name)"],
  h_number: ["发票号码", "Invoice number"],
  h_search: ["查询", "Search"],
  h_export: ["导出", "Export"],
  h_more: ["加载更多", "More"],
  h_empty: ["没有符合条件的记录", "No checks match"],
  h_count: ["共显示 {n} 条", "{n} shown"],
  // analytics
  a_title: ["智能数据分析", "Analytics"],
  a_days: ["近 {n} 天", "Last {n} days"],
  a_report: ["趋势报告", "Trend report"],
  a_checks: ["查验次数", "Checks"],
  a_consistent: ["一致率", "Consistent"],
  a_inconsistent: ["不一致率", "Inconsistent"],
  a_alerts: ["预警率", "Alert rate"],
  a_amount: ["一致发票价税合计", "Total of consistent invoices"],
  a_vs_prev: ["较上期 {v}", "{v} vs previous"],
  a_charts: ["趋势图", "Charts"],
  a_risky: ["高风险销售方", "Riskiest sellers"],
  a_unusual: ["异常地区", "Unusual regions"],
  a_none: ["暂无", "None"],
  chart_checks: ["查验次数", "Checks"],
  chart_verdicts: ["查验结果分布", "Verdicts"],
  "chart_consistent-rate": ["一致率", "Consistent rate"],
  "chart_alert-rate": ["预警率", "Alert rate"],
  chart_regions: ["地区", "Regions"],
  "chart_risky-sellers": ["高风险销售方", "Riskiest sellers"],
  // alerts
  al_title: ["风险预警", "Risk alerts"],
  al_min: ["最低级别", "Minimum severity"],
  al_connecting: ["连接中…", "Connecting…"],
  al_live: ["实时接收中", "Live"],
  al_retry: ["连接中断，{s} 秒后重连", "Disconnected, retrying in {s} s"],
  al_forbidden: ["需要分析员或管理员角色", "Needs the analyst or admin role"],
  al_empty: ["暂无预警。新的预警会实时出现在这里。", "No alerts yet. New ones appear here as they happen."],
  al_score: ["风险分 {s}", "score {s}"],
  al_open: ["查看查验结果", "Open the check"],
  al_evidence: ["预警依据", "Evidence"],
  sev_low: ["低", "low"],
  sev_medium: ["中", "medium"],
  sev_high: ["高", "high"],
  sev_critical: ["严重", "critical"],
  // 常见问题 (knowledge base)
  kb_title: ["常见问题", "Help"],
  kb_search: ["搜索问题", "Search the answers"],
  kb_go: ["搜索", "Search"],
  kb_none: ["没有找到相关问答。", "No answer matches."],
  kb_why: ["这是什么意思？", "What does this mean?"],
  sc_help: ["常见问题", "Help"],
  sc_help_d: ["查验结果、批量、两步验证", "Verdicts, batches, 2FA"],
  // queued while processing is down (预约查验)
  v_queued: ["已受理并排队：查验服务繁忙或正在维护，恢复后将自动查验；结果到达时会通知您（本页面提醒、Webhook 推送、邮件）。", "Accepted and queued: processing is busy or down for maintenance. The check is answered when it resumes, and you are told when the result arrives (here, by webhook, by mail)."],
  nt_arrived: ["查验结果已到达", "Your check has been answered"],
  nt_open: ["查看结果", "Open the result"],
  nt_close: ["关闭", "Close"],
  // alert inbox and cases (人工复核)
  in_title: ["预警处理", "Alert inbox"],
  in_tab_inbox: ["待办列表", "Inbox"],
  in_tab_live: ["实时预警", "Live"],
  in_status: ["复核状态", "Case status"],
  in_severity: ["风险等级", "Severity"],
  in_reason: ["预警原因", "Reason"],
  in_seller: ["销售方税号", "Seller tax id"],
  in_assignee: ["处理人", "Assignee"],
  in_me: ["我", "me"],
  in_from: ["起始日期", "From"],
  in_to: ["截止日期", "To"],
  in_all: ["全部", "all"],
  in_search: ["筛选", "Filter"],
  in_export: ["导出", "Export"],
  in_more: ["加载更多", "More"],
  in_empty: ["没有符合条件的预警。", "No alerts match."],
  in_count: ["已显示 {n} 条", "{n} shown"],
  in_select_all: ["全选本页", "Select the page"],
  in_selected: ["已选 {n} 条", "{n} selected"],
  in_bulk_status: ["批量改为", "Set selected to"],
  in_bulk_assign: ["分配给我", "Assign to me"],
  in_bulk_apply: ["应用", "Apply"],
  in_bulk_done: ["已更新 {n} 条，{f} 条未更新", "{n} updated, {f} not"],
  in_unassigned: ["未分配", "unassigned"],
  in_due: ["截止", "due"],
  in_precision: ["按原因的预警准确率(复核结论)", "Precision by reason (from decisions)"],
  in_precision_none: ["尚无复核结论。", "No decisions yet."],
  in_p_month: ["月份", "Month"],
  in_p_confirmed: ["确认", "Confirmed"],
  in_p_dismissed: ["误报", "Dismissed"],
  in_p_precision: ["准确率", "Precision"],
  cs_new: ["待处理", "New"],
  cs_in_review: ["复核中", "In review"],
  cs_confirmed_fraud: ["确认欺诈", "Confirmed fraud"],
  cs_confirmed_error: ["确认差错", "Confirmed error"],
  cs_dismissed: ["误报", "Dismissed"],
  cs_title: ["预警复核", "Alert case"],
  cs_move: ["改为：{s}", "Move to: {s}"],
  cs_assignee: ["处理人", "Assignee"],
  cs_due: ["截止时间", "Due"],
  cs_save: ["保存", "Save"],
  cs_comment: ["备注", "Comment"],
  cs_comment_add: ["添加备注", "Add comment"],
  cs_history: ["处理记录", "History"],
  cs_h_created: ["建立复核", "case opened"],
  cs_h_status: ["状态：{o} → {n}", "status: {o} → {n}"],
  cs_h_assignee: ["处理人：{o} → {n}", "assignee: {o} → {n}"],
  cs_h_due: ["截止时间：{o} → {n}", "due: {o} → {n}"],
  cs_h_comment: ["备注：{n}", "comment: {n}"],
  cs_saved: ["已保存", "Saved"],
  cs_decision_hint: ["复核结论会作为风险模型的训练标签。", "Decisions become labels for the risk model."],
  r_duplicate_reimbursement: ["重复报销", "duplicate reimbursement"],
  r_presented_after_void: ["作废后仍被报销", "presented after voiding"],
  r_repeated_mismatch: ["多次查验不一致", "repeated mismatches"],
  r_not_found: ["查无此票", "not in the register"],
  r_number_burst: ["连号开票", "consecutive numbers"],
  r_amount_outlier: ["金额异常", "unusual amount"],
  r_mismatch: ["查验不一致", "mismatch"],
  r_model_anomaly: ["模型判断异常", "model anomaly"],
  r_behaviour_anomaly: ["行为异常", "unusual behaviour"],
  // account
  acc_title: ["我的账户", "My account"],
  acc_login: ["登录", "Log in"],
  acc_register: ["注册", "Register"],
  acc_with_key: ["使用 API 密钥", "Use an API key"],
  acc_email: ["邮箱", "Email"],
  acc_password: ["密码", "Password"],
  acc_password_hint: ["至少 10 位，含大小写字母、数字和符号", "10+ characters with upper, lower, digit and symbol"],
  acc_org: ["企业名称", "Organisation"],
  acc_name: ["姓名(选填)", "Name (optional)"],
  acc_key: ["API 密钥", "API key"],
  acc_totp: ["动态验证码", "Authenticator code"],
  acc_totp_hint: ["打开身份验证器 App，输入 6 位数字", "Open your authenticator app and enter the 6 digits"],
  acc_recovery: ["或使用恢复码", "or use a recovery code"],
  acc_verify: ["验证", "Verify"],
  acc_logout: ["退出登录", "Log out"],
  acc_signed_in: ["已登录：{org}", "Signed in: {org}"],
  acc_roles: ["角色", "Roles"],
  acc_expires: ["会话有效至 {t}", "Session valid until {t}"],
  acc_kind_key: ["正在使用 API 密钥 {id}", "Using API key {id}"],
  acc_2fa: ["两步验证", "Two-factor authentication"],
  acc_2fa_intro: ["用身份验证器 App 扫描二维码，再输入显示的 6 位数字。", "Scan the QR code with an authenticator app, then enter the 6 digits it shows."],
  acc_2fa_start: ["设置两步验证", "Set up two-factor"],
  acc_2fa_secret: ["无法扫码时手动输入密钥：", "Can't scan? Enter this key:"],
  acc_2fa_enable: ["启用", "Enable"],
  acc_2fa_on: ["两步验证已启用。请妥善保存以下恢复码，每个只能使用一次：", "Two-factor is on. Keep these recovery codes; each works once:"],
  acc_registered: ["注册成功，请登录", "Registered: log in now"],
  acc_qr_alt: ["两步验证二维码", "Two-factor QR code"],
  acc_need_login: ["请先登录", "Please log in first"],
  // keys
  k_title: ["API 密钥", "API keys"],
  k_intro: ["供 ERP、报销系统等调用接口，以 X-API-Key 请求头发送。", "For your ERP or reimbursement system: send it as the X-API-Key header."],
  k_name: ["名称", "Name"],
  k_scopes: ["权限范围", "Scopes"],
  k_scope_submit: ["提交查验", "submit checks"],
  k_scope_read: ["读取结果", "read results"],
  k_scope_alerts: ["接收预警", "receive alerts"],
  k_create: ["创建密钥", "Create key"],
  k_created: ["新密钥（只显示这一次，请立即保存）：", "The new key (shown only this once, save it now):"],
  k_revoke: ["吊销", "Revoke"],
  k_revoked: ["已吊销", "revoked"],
  k_confirm: ["吊销后使用该密钥的系统将立即无法调用，确定吗？", "Systems using this key stop working at once. Revoke it?"],
  k_last_used: ["最近使用", "last used"],
  k_never: ["从未", "never"],
  k_admins: ["仅管理员可管理 API 密钥", "Only admins manage API keys"],
  // feedback
  fb_title: ["意见反馈", "Feedback"],
  fb_intro: ["您的意见会发送给本企业的管理员。", "Your feedback goes to your organisation's admins."],
  fb_category: ["类型", "Kind"],
  fb_suggestion: ["建议", "Suggestion"],
  fb_problem: ["问题", "Problem"],
  fb_question: ["咨询", "Question"],
  fb_praise: ["表扬", "Praise"],
  fb_message: ["内容", "Message"],
  fb_contact: ["联系方式(选填)", "Contact (optional)"],
  fb_send: ["提交", "Send"],
  fb_thanks: ["感谢您的反馈！", "Thank you for your feedback!"],
  fb_list: ["收到的反馈(管理员)", "Feedback received (admins)"],
};

const LANG_KEY = "fapiao.lang";
let current = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";

export const lang = () => current;

export function setLang(value) {
  current = value === "en" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, current);
  document.documentElement.lang = current === "en" ? "en" : "zh-CN";
}

export function t(key, vars = {}) {
  const pair = STRINGS[key];
  const text = pair ? pair[current === "en" ? 1 : 0] : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export const VERDICTS = Object.keys(STRINGS).filter((k) => k.startsWith("vd_")).map((k) => k.slice(3));

export function verdictName(verdict) {
  return has(`vd_${verdict}`) ? t(`vd_${verdict}`) : verdict;
}

export function has(key) {
  return key in STRINGS;
}

// The server's bilingual fields: pick(obj, "verdict") -> verdict_zh or verdict_en; pick(detail, "msg") ->
// msg_zh or msg.
export function pick(obj, base) {
  if (!obj) return "";
  if (current === "zh") return obj[`${base}_zh`] ?? obj[`${base}_en`] ?? obj[base] ?? "";
  return obj[`${base}_en`] ?? obj[base] ?? obj[`${base}_zh`] ?? "";
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(current === "en" ? "en-GB" : "zh-CN", { hour12: false });
}

export function fmtMoney(value) {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  return `¥${n.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

// Large amounts on tiles: 3,744.96万 / 37.45M.
export function fmtCompact(value) {
  const n = Number(value);
  if (Math.abs(n) < 1e5) return fmtMoney(n);
  if (current === "en") return `¥${(n / 1e6).toLocaleString("en", { maximumFractionDigits: 2 })}M`;
  return `¥${(n / 1e4).toLocaleString("zh-CN", { maximumFractionDigits: 2 })}万`;
}

export function fmtPct(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`;
}
