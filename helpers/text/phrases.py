"""The generated narrative of steps 1 and 5 in English and Chinese (``lang`` en | zh).

Chart labels and number formats live in :mod:`helpers.text.labels`; this module holds
the sentences the workbook writes about the data (the brief, the warnings, the
executive summary, section titles and introductions) and a phrase book for the
fixed vocabulary in the tables (tiers, playbook actions, owners, KPIs, campaigns,
RFM segments). Keys and the values written to CSV/JSON stay English, so runs in
either language compare; only what is shown is translated. A phrase without a
Chinese entry is shown in English.

    say("finding_core", "zh", n=3, share=0.6, names="广东省, 浙江省")
    translate(frame, "zh", ["tier", "action"])
"""

from __future__ import annotations

import pandas as pd

from helpers.text.labels import LABELS, _lang

__all__ = ["TEXTS", "ZH", "HEADERS_ZH", "say", "tr", "join", "name_list", "translate",
           "headers"]

#: Templates (``str.format`` fields) of the generated sentences.
TEXTS: dict[str, dict[str, str]] = {
    # the report's banner (python -m helpers.run)
    "report_title": {"en": "{notebook} — {region} — run {run}",
                     "zh": "{notebook} — {region} — 运行 {run}"},
    "all_regions": {"en": "All regions", "zh": "所有区域"},
    # step 1: data checks, warnings, assumptions, the brief
    "check_customers": {"en": "{n:,} customers in scope", "zh": "范围内 {n:,} 家客户"},
    "check_locations": {"en": "{located:,} of {n:,} customers with a {level}",
                        "zh": "{n:,} 家客户中 {located:,} 家有{level}信息"},
    "check_orders": {"en": "{n:,} order lines in the period", "zh": "分析期内 {n:,} 条订单行"},
    "check_baseline_orders": {"en": "{n:,} order lines in the baseline period",
                              "zh": "基准期内 {n:,} 条订单行"},
    "check_population_ok": {"en": "bundled 2020 census population and GDP per province",
                            "zh": "内置2020年人口普查人口与各省GDP"},
    "check_population_no": {
        "en": "no population or GDP per city: penetration and gap ratio are compared at "
              "province level only (whole-market report)",
        "zh": "没有城市级人口与GDP：渗透率与缺口比只在省级比较（全市场报告）"},
    "check_spend_ok": {"en": "{total:,.0f} CNY in the period for {n} province(s)",
                       "zh": "分析期内 {n} 个省份共 {total:,.0f} 元"},
    "check_spend_no": {"en": "no marketing spend for the period and regions in scope",
                       "zh": "分析期及范围内地区没有市场费用数据"},
    "check_reps_ok": {"en": "{n:,} sales reps", "zh": "{n:,} 名销售代表"},
    "check_reps_no": {"en": "no sales reps: actions are owned by roles, not names",
                      "zh": "没有销售代表数据：行动只分配给岗位，而非具体人员"},
    "check_firmographics_ok": {"en": "{n:,} customers with firmographics ({columns})",
                               "zh": "{n:,} 家客户有企业资料（{columns}）"},
    "check_firmographics_no": {"en": "no firmographic column mapped",
                               "zh": "未映射任何企业资料列"},
    "check_contacts": {"en": "{n:,} customers with a phone or e-mail",
                       "zh": "{n:,} 家客户有电话或邮箱"},
    "warn_kpi": {"en": "{kpi} cannot be computed: it needs {what}; found: {detail}",
                 "zh": "{kpi} 无法计算：需要{what}；现有：{detail}"},
    "warn_need": {"en": "missing {what}: {detail}", "zh": "缺少{what}：{detail}"},
    "warn_small": {"en": "only {n} customers in scope (< analysis.min_customers {min}): treat "
                         "rates and growth with care",
                   "zh": "范围内仅 {n} 家客户（< analysis.min_customers {min}）：比率和增长需谨慎解读"},
    "assume_period": {"en": "The period {start} – {end} is compared with the {months} months "
                            "before it (the baseline).",
                      "zh": "分析期 {start} – {end} 与其之前的 {months} 个月（基准期）比较。"},
    "assume_region": {"en": "Orders are attributed to the region of their customer; customers "
                            "without a region are left out of region KPIs and counted in step "
                            "2's ledger.",
                      "zh": "订单归属其客户所在地区；没有地区的客户不计入地区指标，并在第2步的行账中计数。"},
    "assume_rules": {"en": "Region tiers follow the rules in workbook.yaml (strategy:); the "
                           "objective changes what is shown first, never what is computed.",
                     "zh": "地区分级按 workbook.yaml（strategy:）中的规则；目标只改变展示顺序，不改变计算结果。"},
    "assume_expected": {"en": "Expected customers are allocated by sqrt(population x GDP): a "
                              "simple benchmark for penetration, not a forecast.",
                        "zh": "期望客户数按 sqrt(人口 × GDP) 分配：是衡量渗透率的简单基准，而非预测。"},
    "assume_response": {"en": "Marketing response: revenue ~ spend^{elasticity:g} "
                              "(budget.elasticity), the same for every region.",
                        "zh": "市场响应：收入 ~ 费用^{elasticity:g}（budget.elasticity），各地区相同。"},
    "regions_compared": {"en": "{n} province(s), by {level}", "zh": "{n} 个省份，按{level}比较"},
    "data_missing": {"en": "**Warning: data missing for this objective**",
                     "zh": "**警告：该目标所需的数据缺失**"},
    "data_complete": {"en": "The configured data covers every KPI of this objective.",
                      "zh": "已配置的数据覆盖该目标的全部指标。"},
    "first_note": {"en": "Objective: **{title}**. The shared report puts first: {sections}.",
                   "zh": "目标：**{title}**。共享报告优先展示：{sections}。"},
    "objective_only": {"en": "Objective: **{title}**.", "zh": "目标：**{title}**。"},
    "objective_missing": {"en": "Objective: **{title}**. Data missing for it (see step 1): "
                                "{warnings}",
                          "zh": "目标：**{title}**。该目标缺少的数据（见第1步）：{warnings}"},
    # step 4: what each result means (insights.explain)
    "and_more": {"en": " and {n} more", "zh": " 等另外 {n} 个"},
    "hot_none": {"en": "No hot-spot statistics for this report: {reason}.",
                 "zh": "本报告没有热点统计：{reason}。"},
    "hot_intro": {"en": "Hot spots are {unit} that, together with their neighbours, have a "
                        "higher {value} than chance would put side by side (Getis-Ord Gi*, {n} "
                        "{unit}, neighbours: {neighbours}; analytic p-values with a "
                        "false-discovery-rate correction).",
                  "zh": "热点是与其相邻地区一起、{value}高于随机分布所能解释水平的{unit}（Getis-Ord Gi*，"
                        "{n} 个{unit}，相邻关系：{neighbours}；解析 p 值并做错误发现率校正）。"},
    "hot_list": {"en": "**Hot at 95% or more:** {names}.", "zh": "**95%及以上置信度的热点：**{names}。"},
    "hot_no": {"en": "No region is a hot spot at 95% confidence.",
               "zh": "没有地区在95%置信度下是热点。"},
    "cold_list": {"en": "**Cold at 95% or more:** {names}.", "zh": "**95%及以上置信度的冷点：**{names}。"},
    "hot_outliers": {"en": "Unlike their neighbours (local Moran): {names}.",
                     "zh": "与相邻地区明显不同（局部 Moran）：{names}。"},
    "hot_meaning": {"en": "A hot spot is a cluster to defend and to use as a base for its "
                          "neighbours; a strong region that is not a hot spot stands alone.",
                    "zh": "热点是需要守住、并可作为向周边拓展基地的集群；不是热点的强势地区则是孤立的强点。"},
    "gaps_no_reference": {"en": "No population and GDP reference at this level, so no expected "
                                "customer counts: compare the {unit} by their revenue and growth "
                                "instead.",
                          "zh": "该层级没有人口与GDP参考数据，无法估算期望客户数：请改为按收入和增长比较各{unit}。"},
    "gaps_poisson": {"en": "a Poisson regression of customers on population and GDP across {n} "
                           "{unit}",
                     "zh": "基于 {n} 个{unit}的客户数对人口和GDP的泊松回归"},
    "gaps_allocation": {"en": "the total shared by population and GDP", "zh": "按人口和GDP分摊的总数"},
    "gaps_intro": {"en": "Expected customers come from {how}: what a region would have if it "
                         "were served like the others of its size and wealth.",
                   "zh": "期望客户数来自{how}：即一个地区若与规模和富裕程度相当的其他地区同等经营时应有的客户数。"},
    "gaps_missing": {"en": "{name} ({gap:,.0f} fewer than expected)", "zh": "{name}（比期望少 {gap:,.0f} 家）"},
    "gaps_under": {"en": "**Under-served** (fewer customers than expected, beyond chance): "
                         "{missing}.",
                   "zh": "**服务不足**（客户少于期望，且超出随机波动）：{missing}。"},
    "gaps_blank": {"en": "**Blank** (no customers at all): {names}.",
                   "zh": "**空白**（完全没有客户）：{names}。"},
    "gaps_none": {"en": "No region is clearly under-served.", "zh": "没有地区明显服务不足。"},
    "isolated_none": {"en": "No isolated customers in this report (none is farther than "
                            "{km:.0f} km from a group of customers).",
                      "zh": "本报告没有孤立客户（没有客户距离客户群超过 {km:.0f} 公里）。"},
    "isolated": {"en": "**{n} customer(s) stand alone**: no other group of customers within "
                       "{km:.0f} km ({method}). The nearest group is {low:,.0f} to {high:,.0f} km "
                       "away. They bought {revenue:,.0f} in the period. Ask why they chose us: "
                       "each may be the seed of a new local market, or a customer hard to serve.",
                 "zh": "**{n} 家客户是孤立的**：{km:.0f} 公里内没有其他客户群（{method}）。最近的客户群距离 "
                       "{low:,.0f} 至 {high:,.0f} 公里。他们在分析期内采购 {revenue:,.0f}。请了解他们为何选择我们："
                       "每一家都可能是新的本地市场的种子，也可能是难以服务的客户。"},
    "segment_part": {"en": "{segment}: {n:,} customers, {share:.0%} of revenue to date",
                     "zh": "{segment}：{n:,} 家客户，累计收入占比 {share:.0%}"},
    "segments": {"en": "RFM scores each customer 1-5 on recency, frequency and spend (5 best) as "
                       "of the end of the period. {parts}. Champions and loyal customers need "
                       "care; those at risk or that we cannot lose need a call this quarter.",
                 "zh": "RFM 按分析期末的最近购买、购买频次和金额给每位客户打 1–5 分（5 最好）。{parts}。"
                       "核心客户和忠诚客户需要维护；有流失风险和不能失去的客户本季度需要电话跟进。"},
    "clusters_none": {"en": "No behavioural clusters: {reason}.", "zh": "没有行为聚类：{reason}。"},
    "clusters_sampled": {"en": " chosen on a random sample of {n:,} customers, then every "
                               "customer assigned to the nearest group;",
                         "zh": "先在 {n:,} 家客户的随机样本上选定，再把每位客户分到最近的组；"},
    "clusters_intro": {"en": "K-means on {n:,} customers finds **{k} groups** of buying "
                             "behaviour (k with the best silhouette, computed on a sample of "
                             "{sample:,} customers;{on} Calinski-Harabasz and Davies-Bouldin "
                             "beside it):",
                       "zh": "对 {n:,} 家客户做 K-means，得到 **{k} 组**购买行为（k 取轮廓系数最佳者，"
                             "在 {sample:,} 家客户的样本上计算；{on}并列出 Calinski-Harabasz 和 "
                             "Davies-Bouldin 指标）："},
    "cluster_line": {"en": "- group {group}: {n:,} customers, {share:.0%} of spend: {description}",
                     "zh": "- 第 {group} 组：{n:,} 家客户，占消费额 {share:.0%}：{description}"},
    "lifecycle": {"en": "Stages as of {as_of} (new: first order in the last {new} months; at "
                        "risk: silent {at_risk} months; churned: silent {churn} months): {parts}.",
                  "zh": "截至 {as_of} 的生命周期阶段（新客户：最近 {new} 个月内首次下单；流失风险："
                        "{at_risk} 个月无订单；已流失：{churn} 个月无订单）：{parts}。"},
    "ltv_fallback": {"en": "Lifetime value falls back to each customer's historical run rate: "
                           "{reason}.",
                     "zh": "客户生命周期价值改用每位客户的历史消费速度估算：{reason}。"},
    "ltv": {"en": "BG/NBD + Gamma-Gamma on {n:,} customers ({repeat:,} with repeat purchases): "
                  "the customers are expected to bring **{total:,.0f}** in the next {months} "
                  "months (discounted {discount:.0%} a month). Median probability still active: "
                  "{alive:.0%}; {gone:,} customers are more likely gone than active. Fitted r "
                  "{r:.3f}, alpha {alpha:.2f}, a {a:.3f}, b {b:.3f}.",
            "zh": "对 {n:,} 家客户（{repeat:,} 家有复购）拟合 BG/NBD + Gamma-Gamma：预计未来 {months} "
                  "个月带来 **{total:,.0f}**（每月折现 {discount:.0%}）。仍活跃概率的中位数：{alive:.0%}；"
                  "{gone:,} 家客户流失的可能性大于活跃。拟合参数 r {r:.3f}，alpha {alpha:.2f}，"
                  "a {a:.3f}，b {b:.3f}。"},
    "ltv_few_repeat": {"en": " Only {share:.0%} of customers bought more than once: BG/NBD "
                             "counts a one-time buyer as still active, so read their value as an "
                             "upper bound.",
                       "zh": "仅 {share:.0%} 的客户购买过一次以上：BG/NBD 把只买过一次的客户视为仍活跃，"
                             "其价值应视为上限。"},
    "ltv_correlated": {"en": " Caution: purchase value and frequency are correlated ({corr:.2f}); "
                             "Gamma-Gamma assumes they are not.",
                       "zh": "注意：购买金额与频次相关（{corr:.2f}），而 Gamma-Gamma 假设二者无关。"},
    "partners_none": {"en": "No partner firmographics in the data: no A/B/C tiers.",
                      "zh": "数据中没有伙伴企业资料：无法做A/B/C分级。"},
    "partner_part": {"en": "{tier}: {n:,} partners, {share:.0%} of partner revenue",
                     "zh": "{tier}类：{n:,} 家伙伴，占伙伴收入 {share:.0%}"},
    "partners": {"en": "Partners are scored on product, business model, staff, finances and "
                       "years in the trade (workbook.yaml `partners:`; A from {a:g} points, B "
                       "from {b:g}). {parts}.",
                 "zh": "伙伴按主营产品、经营模式、人员、资金实力和从业年限评分（workbook.yaml "
                       "`partners:`；A类 {a:g} 分起，B类 {b:g} 分起）。{parts}。"},
    "partners_incomplete": {"en": " {n} partner(s) lack some data and may be under-scored.",
                            "zh": "{n} 家伙伴缺少部分资料，得分可能偏低。"},
    # step 5: the budget proposal (plan.budget_plan, budget.method_notes)
    "budget_in_province": {"en": "Marketing spend is recorded per province, so there is nothing "
                                 "to split inside one province: see the budget in the "
                                 "whole-market or territory report.",
                           "zh": "市场费用按省份记录，因此无法在单个省份内部再分配：请查看全国或大区报告中的预算。"},
    "budget_no_spend": {"en": "No marketing spend for the period and these regions "
                              "(sources.spend in workbook.yaml): no budget proposal. Step 1 "
                              "lists what is missing.",
                        "zh": "分析期及这些地区没有市场费用（workbook.yaml 中的 sources.spend）："
                              "没有预算建议。第1步列出了缺少的数据。"},
    "budget_basis": {"en": "Total basis: {basis}.", "zh": "总额依据：{basis}。"},
    "basis_total": {"en": "budget.total", "zh": "budget.total（配置的总额）"},
    "basis_scaled": {"en": "budget.total scaled to this scope's share of current spend",
                     "zh": "按本范围占当前费用的比例缩放的 budget.total"},
    "basis_change": {"en": "current spend x (1 + budget.total_change {change:g})",
                     "zh": "当前费用 × (1 + budget.total_change {change:g})"},
    "budget_momentum": {"en": "(1 + growth)^{momentum:g}, growth clipped to -50%..+100% "
                              "(budget.momentum)",
                        "zh": "(1 + 增长)^{momentum:g}，增长限制在 -50%..+100%（budget.momentum）"},
    "budget_headroom": {"en": "(expected / actual customers)^{headroom:g}, clipped to 0.1..10 "
                              "(budget.headroom)",
                        "zh": "(期望客户数 / 实际客户数)^{headroom:g}，限制在 0.1..10（budget.headroom）"},
    "budget_response_m": {"en": "Responsiveness m = {factors}: growing and under-penetrated "
                                "regions are assumed to answer more strongly to the same money.",
                          "zh": "响应系数 m = {factors}：假设增长中和渗透不足的地区对同样的投入响应更强。"},
    "budget_response_1": {"en": "Responsiveness m = 1 for every region.",
                          "zh": "所有地区的响应系数 m = 1。"},
    "budget_current": {"en": "Current spend: marketing spend per region in the analysis period "
                             "{period} (quarters counted by the share of their days inside it, "
                             "as in step 4's ROI): {current:,.0f} in total.",
                       "zh": "当前费用：分析期 {period} 内各地区的市场费用（季度按其落在期内的天数比例计入，"
                             "与第4步的投入产出比相同）：合计 {current:,.0f}。"},
    "budget_total": {"en": "New total: {total:,.0f}; every amount is a whole multiple of "
                           "{unit:,.0f}.",
                     "zh": "新总额：{total:,.0f}；每个金额都是 {unit:,.0f} 的整数倍。"},
    "budget_model": {"en": "Response: revenue(s) = R + m x R x ((s / S)^{elasticity:g} - 1) per "
                           "region, with S and R its current spend and revenue (at m = 1, 10% "
                           "more spend gives about {gain:.1f}% more revenue). One elasticity for "
                           "every region is an assumption, not an estimate from these data.",
                     "zh": "响应模型：各地区 收入(s) = R + m × R × ((s / S)^{elasticity:g} - 1)，S 和 R "
                           "为其当前费用和收入（m = 1 时，费用增加10%约带来 {gain:.1f}% 的收入增长）。"
                           "所有地区使用同一弹性是一个假设，而非从这些数据中估计。"},
    "budget_split": {"en": "Split: maximises the expected total revenue; every region not at its "
                           "floor or cap ends with the same marginal return (revenue from one "
                           "more CNY).",
                     "zh": "分配：使期望总收入最大；未触及下限或上限的地区最终边际回报（多投一元带来的收入）相同。"},
    "budget_uncalibrated": {"en": "Regions with no spend or no revenue cannot be calibrated and "
                                  "get their floor only.",
                            "zh": "没有费用或没有收入的地区无法校准，只分配下限。"},
    "budget_expected": {"en": "Expected effect: the model's revenue at the new spend minus the "
                              "current revenue; it ignores lags, competition and what the money "
                              "is spent on, so treat it as a ranking of where money works "
                              "hardest, not a forecast.",
                        "zh": "预期效果：模型在新费用下的收入减去当前收入；它忽略了滞后、竞争和资金的具体用途，"
                              "应视为资金效率的排序，而非预测。"},
    # step 5: why a region is in its tier (strategy.region_tiers)
    "reason_no_customers": {"en": "no customers", "zh": "无客户"},
    "reason_hot_bin": {"en": "Gi* hot spot ({z}bin {bin} ≥ {level})",
                       "zh": "Gi* 热点（{z}等级 {bin} ≥ {level}）"},
    "reason_hot": {"en": "Gi* hot spot", "zh": "Gi* 热点"},
    "reason_growth_new": {"en": "growth n/a (no revenue in the previous period)",
                          "zh": "增长无法计算（上期无收入）"},
    "reason_growth_na": {"en": "growth n/a", "zh": "增长无法计算"},
    "reason_growth": {"en": "growth {growth}", "zh": "增长 {growth}"},
    "reason_small": {"en": "only {n} customers (< {min}): growth not trusted, so no "
                           "core/declining/emerging tier",
                     "zh": "仅 {n} 家客户（< {min}）：增长不可靠，不评为核心/下滑/新兴"},
    "reason_core": {"en": "share {share} ≥ {min}, {growth}", "zh": "占比 {share} ≥ {min}，{growth}"},
    "reason_declining": {"en": "growth {growth} ≤ {limit} (share {share})",
                         "zh": "增长 {growth} ≤ {limit}（占比 {share}）"},
    "reason_emerging": {"en": "{growth}, share {share} < {max}",
                        "zh": "{growth}，占比 {share} < {max}"},
    "reason_gap_expected": {"en": "{customers} customers vs {expected:.1f} expected from "
                                  "population and GDP (ratio {ratio:.2f} < {limit:g})",
                            "zh": "{customers} 家客户，按人口和GDP期望 {expected:.1f} 家"
                                  "（比值 {ratio:.2f} < {limit:g}）"},
    "reason_gap": {"en": "gap ratio {ratio:.2f} < {limit:g}", "zh": "缺口比 {ratio:.2f} < {limit:g}"},
    "reason_room": {"en": "{customers} customers vs {expected:.1f} expected, ",
                    "zh": "{customers} 家客户，期望 {expected:.1f} 家，"},
    "reason_potential": {"en": "growth {growth} ≥ {min} with room to grow: {room}ratio "
                               "{ratio:.2f} < {limit:g}",
                         "zh": "增长 {growth} ≥ {min} 且仍有空间：{room}比值 {ratio:.2f} < {limit:g}"},
    "reason_share": {"en": "share {share}", "zh": "占比 {share}"},
    "reason_share_na": {"en": "share n/a", "zh": "占比无法计算"},
    "reason_gap_ok": {"en": "gap ratio {ratio:.2f} ≥ {limit:g}", "zh": "缺口比 {ratio:.2f} ≥ {limit:g}"},
    "reason_steady": {"en": "{facts}: no rule met", "zh": "{facts}：未满足任何规则"},
    # step 5: the executive summary
    "finding_size": {"en": "{customers:,} customers, revenue {revenue:,.0f} CNY in the period",
                     "zh": "{customers:,} 家客户，分析期收入 {revenue:,.0f} 元"},
    "finding_size_growth": {"en": ", {growth:+.1%} on the baseline", "zh": "，较基准期 {growth:+.1%}"},
    "finding_core": {"en": "{n} core region(s) bring {share:.0%} of revenue: {names}",
                     "zh": "{n} 个核心地区贡献 {share:.0%} 的收入：{names}"},
    "finding_gap": {"en": "{n} gap region(s), {blank} of them blank (no customers)",
                    "zh": "{n} 个缺口地区，其中 {blank} 个为空白（无客户）"},
    "finding_gap_largest": {"en": "; the largest gap is {name}: {customers} customers where "
                                  "{expected:.0f} are expected",
                            "zh": "；最大缺口在{name}：现有 {customers} 家客户，期望 {expected:.0f} 家"},
    "finding_emerging": {"en": "{n} emerging region(s); fastest: {name}, {growth}",
                         "zh": "{n} 个新兴地区；增长最快：{name}，{growth}"},
    "growth_on_baseline": {"en": "revenue {growth:+.0%} on the baseline",
                           "zh": "收入较基准期 {growth:+.0%}"},
    "new_revenue": {"en": "new revenue", "zh": "新增收入"},
    "finding_declining": {"en": "{n} declining region(s) lost {lost:,.0f} CNY of revenue on the "
                                "baseline; worst: {name}, {growth:+.0%}",
                          "zh": "{n} 个下滑地区较基准期减少收入 {lost:,.0f} 元；最差：{name}，{growth:+.0%}"},
    "finding_concentration": {"en": "the top 20% of customers bring {share:.0%} of revenue "
                                    "(Gini {gini:.2f})",
                              "zh": "前20%的客户贡献 {share:.0%} 的收入（基尼系数 {gini:.2f}）"},
    "finding_at_risk": {"en": "{n:,} customers at risk or that we cannot lose hold {value:,.0f} "
                              "CNY of revenue to date ({share:.0%}): win-back campaign",
                        "zh": "{n:,} 家有流失风险或不能失去的客户累计贡献 {value:,.0f} 元（{share:.0%}）：启动挽回活动"},
    "finding_champions": {"en": "{n:,} champions bring {share:.0%} of revenue to date: VIP care",
                          "zh": "{n:,} 家核心客户累计贡献 {share:.0%} 的收入：VIP 维护"},
    "finding_budget": {"en": "move {moved:,.0f} CNY ({moved_share:.0%} of the {total:,.0f} CNY "
                             "budget) towards {names}{effect}",
                       "zh": "将 {moved:,.0f} 元（占 {total:,.0f} 元预算的 {moved_share:.0%}）调往{names}{effect}"},
    "finding_budget_effect": {"en": "; expected revenue {effect:+,.0f} CNY ({pct:+.1%} in the "
                                    "modelled regions)",
                              "zh": "；预计收入 {effect:+,.0f} 元（建模地区 {pct:+.1%}）"},
    "no_region": {"en": "no region", "zh": "无地区"},
    "finding_partners": {"en": "{b:,} B-tier partners get a development plan (A {a:,}, C {c:,})",
                         "zh": "{b:,} 家B类伙伴获得发展计划（A类 {a:,}，C类 {c:,}）"},
    "finding_monitoring": {"en": "since run {run}: {changes} region(s) changed tier",
                           "zh": "自运行 {run} 以来：{changes} 个地区分级变化"},
    "finding_monitoring_champions": {"en": ", {n:,} champions became at risk",
                                     "zh": "，{n:,} 家核心客户转为流失风险"},
    "finding_monitoring_blank": {"en": ", newly blank: {names}", "zh": "，新增空白：{names}"},
    # step 5: section introductions
    "intro_tiers": {
        "en": "Each region is in the first tier whose rule it meets (`workbook.yaml`, "
              "`strategy:`): **core** from {hot_share:.0%} of revenue (or a hot spot from "
              "{hotspot_share:.0%}) with growth of at least {hot_growth:+.0%}; **declining** at "
              "{declining:+.0%} or worse; **emerging** from {emerging:+.0%} growth, or growing "
              "with fewer customers than expected; **gap** below {gap:g} of the expected "
              "customers, or none at all. The reason column gives the numbers.",
        "zh": "每个地区归入其满足规则的第一个分级（`workbook.yaml`，`strategy:`）：收入占比达 "
              "{hot_share:.0%}（热点地区达 {hotspot_share:.0%}）且增长不低于 {hot_growth:+.0%} 为"
              "**核心**；增长不高于 {declining:+.0%} 为**下滑**；增长达 {emerging:+.0%}，或在增长且"
              "客户少于期望为**新兴**；客户数低于期望的 {gap:g} 倍或没有客户为**缺口**。"
              "原因一列给出具体数字。"},
    "tiers_market": {"en": "In a territory report the provinces are judged against the whole "
                           "market (share of the market's revenue, customers expected by the "
                           "market-wide model), so each province has the same tier in every "
                           "report.",
                     "zh": "大区报告中各省按全国市场衡量（占全国收入的比例、全国模型的期望客户数），"
                           "因此同一省份在所有报告中的分级一致。"},
    "intro_playbook": {"en": "What to do in each kind of market, who owns it and the KPI that "
                             "shows progress. Sales actions go to the reps of the region's "
                             "territory by name.",
                       "zh": "每类市场该做什么、由谁负责、用哪个指标衡量进展。销售类行动按姓名分配给"
                             "该地区所属大区的销售代表。"},
    "intro_actions": {"en": "The action list, first rows (all of it is in `actions.csv` and "
                            "`actions.xlsx`):",
                      "zh": "行动清单前几行（完整清单见 `actions.csv` 和 `actions.xlsx`）："},
    "intro_actions_masked": {"en": "The action list, first rows, with the sales reps' names "
                                   "masked (`report.show_rep_names` in `workbook.yaml`); all of "
                                   "it, with full names, is in `actions.csv` and `actions.xlsx`:",
                             "zh": "行动清单前几行，销售代表姓名已脱敏（`workbook.yaml` 中的 "
                                   "`report.show_rep_names`）；完整清单（含全名）见 `actions.csv` "
                                   "和 `actions.xlsx`："},
    "budget_infeasible": {"en": "**The budget cannot be split as configured.** {error}",
                          "zh": "**无法按当前配置分配预算。** {error}"},
    "budget_summary": {"en": "Current spend {current:,.0f} CNY; proposed {total:,.0f} CNY, of "
                             "which {moved:,.0f} CNY move between regions.",
                       "zh": "当前费用 {current:,.0f} 元；建议 {total:,.0f} 元，其中 {moved:,.0f} 元在地区间调整。"},
    "budget_effect": {"en": " Expected effect on revenue: {effect:+,.0f} CNY.",
                      "zh": "预计对收入的影响：{effect:+,.0f} 元。"},
    "budget_method": {"en": "**Method and assumptions**", "zh": "**方法与假设**"},
    "intro_customers": {"en": "One campaign per RFM segment, worked by the customer's own rep "
                              "where the action is for sales. The table counts customers per "
                              "campaign; names and contacts are only in `campaign_list.csv` and "
                              "`actions.xlsx`.",
                        "zh": "每个RFM分群一个活动；销售类行动由客户自己的销售代表执行。下表按活动统计"
                              "客户数；客户名称和联系方式只在 `campaign_list.csv` 和 `actions.xlsx` 中。"},
    "intro_partners": {"en": "Channel partners by A/B/C tier (step 4's scoring table). B-tier "
                             "partners get a development plan that works on their weakest "
                             "scoring factors; the list with contacts is in `partner_plans.csv` "
                             "and `actions.xlsx`.",
                       "zh": "按A/B/C分级的渠道伙伴（第4步评分表）。B类伙伴获得针对其最弱评分因素的"
                             "发展计划；含联系方式的名单在 `partner_plans.csv` 和 `actions.xlsx` 中。"},
    "no_partners": {"en": "No partner tiers from step 4 (no partner firmographics in the data, "
                          "or no partner in scope): no partner plans. Step 1 lists what is "
                          "missing.",
                    "zh": "第4步没有伙伴分级（数据中没有伙伴企业资料，或范围内没有伙伴）：没有伙伴计划。"
                          "第1步列出了缺少的数据。"},
    "partner_focus": {"en": "Factors the B-tier development plans work on most:",
                      "zh": "B类发展计划最常针对的评分因素："},
    "no_baseline": {"en": "No baseline run given (parameter `baseline_run`, or `--baseline-run` "
                          "in the batch): run again with an earlier run's id to see what changed.",
                    "zh": "未指定基准运行（参数 `baseline_run`，或批处理的 `--baseline-run`）："
                          "用较早一次运行的编号再次运行即可查看变化。"},
    "no_comparison": {"en": "**No comparison:** {error}", "zh": "**无法比较：** {error}"},
    "comparison_runs": {"en": "Run {run} (period {b_start} – {b_end}) against this run "
                              "(period {start} – {end}).",
                        "zh": "运行 {run}（分析期 {b_start} – {b_end}）与本次运行（分析期 {start} – {end}）比较。"},
    "comparison_tiers": {"en": "Tier changes: {changes}; newly blank: {blank}; newly hot: {hot}.",
                         "zh": "分级变化：{changes}；新增空白：{blank}；新增热点：{hot}。"},
    "none": {"en": "none", "zh": "无"},
    "migration": {"en": "Segment migration: customers by RFM segment in the baseline (rows) and "
                        "now (columns). {lost:,} champions became at risk; {won:,} customers at "
                        "risk were won back.",
                  "zh": "分群迁移：基准期（行）与本期（列）各RFM分群的客户数。{lost:,} 家核心客户转为"
                        "流失风险；{won:,} 家风险客户被挽回。"},
}

#: English phrase -> Chinese, for the fixed vocabulary of the generated tables and
#: the catalogs (objectives, KPIs, data needs, sections).
ZH: dict[str, str] = {
    # objectives
    "Find new markets": "寻找新市场",
    "Where are the blank and under-served regions, and which are worth entering?":
        "哪些地区是空白或服务不足的市场，哪些值得进入？",
    "Reallocate sales and marketing resources": "重新分配销售与市场资源",
    "Where does the next CNY of marketing and the next sales rep earn most?":
        "下一元市场费用和下一位销售代表投在哪里回报最高？",
    "Compare regions": "地区对比",
    "How do regions compare on size, growth and efficiency, and what changed?":
        "各地区在规模、增长和效率上表现如何，发生了哪些变化？",
    "Keep and grow valuable customers": "保留并发展高价值客户",
    "Which customers carry the business, which are slipping, and what do we do?":
        "哪些客户支撑业务，哪些正在流失，我们该怎么做？",
    "Tier channel partners": "渠道伙伴分级",
    "Which dealers and integrators are A, B or C partners, and how do we develop the B tier?":
        "哪些经销商和集成商是A、B、C类伙伴，如何培养B类伙伴？",
    "the same regions in the previous period of equal length; penetration against the count "
    "expected from population and GDP":
        "同一地区在上一个等长期间的表现；渗透率对照按人口和GDP估算的期望客户数",
    "current spend and revenue of each region in the period; growth on the previous period":
        "各地区本期的当前费用与收入；增长对照上一期间",
    "the previous period of equal length; an earlier run when baseline_run is set":
        "上一个等长期间；设置 baseline_run 时对照较早的一次运行",
    "each customer's RFM segment in an earlier run (baseline_run); activity in the last "
    "analysis.active_months":
        "每位客户在较早运行（baseline_run）中的RFM分群；最近 analysis.active_months 个月的活跃情况",
    "the scoring table of step 4 (points per factor), revenue in the period":
        "第4步的评分表（各因素得分），本期收入",
    # KPI definitions
    "customers whose region is known": "已知所在地区的客户",
    "customers who signed up in the period (first order when no signup date)":
        "分析期内注册的客户（无注册日期时按首单日期）",
    "customers with a positive order line in the last analysis.active_months":
        "最近 analysis.active_months 个月内有正向订单行的客户",
    "share of customers who are active": "活跃客户占比",
    "net order amount in the period, returns subtracted": "分析期内订单净额（已扣除退货）",
    "revenue growth on the baseline period": "较基准期的收入增长",
    "share of the market's revenue in the period": "占分析期市场收入的比例",
    "penetration: customers per million residents (2020 census)": "渗透率：每百万常住人口客户数（2020年人口普查）",
    "customers against the count expected from population and GDP (below 1: under-served, "
    "0: blank)": "实际客户数与按人口和GDP估算的期望客户数之比（低于1：服务不足，0：空白）",
    "Getis-Ord Gi* z-score of the region with its neighbours (bin >= 2: hot spot at 95% "
    "confidence)": "地区及其相邻地区的 Getis-Ord Gi* z 值（bin ≥ 2：95%置信度的热点）",
    "share of revenue from the top 20% of customers (concentration)": "前20%客户的收入占比（集中度）",
    "average order value": "平均订单金额",
    "revenue per active customer": "每个活跃客户的收入",
    "marketing spend in the period": "分析期内的市场费用",
    "revenue per CNY of marketing spend": "每元市场费用带来的收入",
    "revenue from one more CNY of spend (budget model)": "每多投入一元费用带来的收入（预算模型）",
    "customers per sales rep of the territory": "所属大区每名销售代表的客户数",
    "customers in the RFM segment champions (recent, frequent)": "RFM分群为核心客户（近期、高频）的客户数",
    "net revenue to date of customers at risk or that we cannot lose":
        "有流失风险或不能失去的客户累计净收入",
    "expected value of a customer in the next 12 months (BG/NBD and Gamma-Gamma, step 4)":
        "客户未来12个月的期望价值（BG/NBD 与 Gamma-Gamma，第4步）",
    "channel partners in A/B/C tiers by the scoring table of step 4": "按第4步评分表划分的A/B/C类渠道伙伴",
    "B-tier partners: the ones a development plan can lift to A": "B类伙伴：可通过发展计划提升为A类的伙伴",
    # units
    "customers": "家客户", "CNY": "元", "ratio": "比值", "z": "z 值",
    "per 1M people": "每百万人", "CNY per CNY": "元/元", "partners": "家伙伴",
    # data needs
    "customers in scope (sources.customers)": "范围内的客户（sources.customers）",
    "customers with a province (sources.customers: province, city or lat/lon)":
        "有省份信息的客户（sources.customers：省份、城市或经纬度）",
    "orders in the analysis period (sources.orders)": "分析期内的订单（sources.orders）",
    "orders in the baseline period, for growth and lifetime value": "基准期内的订单（用于增长与客户生命周期价值）",
    "population and GDP per region (bundled for provinces; not for cities)":
        "各地区人口与GDP（内置省级数据；无城市级）",
    "marketing spend per province and quarter in the period (sources.spend)":
        "分析期内各省各季度的市场费用（sources.spend）",
    "sales reps with their territory (sources.reps)": "销售代表及其负责大区（sources.reps）",
    "partner firmographics: business_model, headcount, registered_capital, years_active, "
    "main_product_tier (sources.customers, e.g. the ERP export)":
        "伙伴企业资料：经营模式、员工人数、注册资本、从业年限、主营产品档次（sources.customers，如 ERP 导出）",
    "contact fields for campaign lists: phone or email (sources.customers)":
        "活动名单所需的联系方式：电话或邮箱（sources.customers）",
    "province": "省份", "city": "城市", "provinces": "省份", "cities": "城市", "states": "州",
    # lifecycle stages
    "new": "新客户", "reactivated": "回流客户", "active": "活跃", "churned": "已流失",
    "no orders": "无订单",
    # the five notebooks (report titles and the index's links)
    "Goals": "目标", "Data prep": "数据准备", "Visualization": "可视化", "Insight": "洞察",
    "Strategy": "策略",
    # section titles of steps 3 and 4 (as notebooks/zh.yaml translates their headings)
    "Revenue and customers by region": "各地区收入与客户数",
    "How concentrated is revenue?": "收入有多集中？",
    "Customers against revenue": "客户数与收入",
    "Monthly revenue trend": "月度收入趋势",
    "How large is a typical order?": "典型订单有多大？",
    "What kind of customers does each region have?": "各地区的客户构成如何？",
    "Map: where is the money?": "地图：收入在哪里？",
    "Map: every customer": "地图：全部客户",
    "Region KPIs": "地区指标",
    "Hot and cold spots": "热点与冷点",
    "Market gaps: blank and under-served regions": "市场缺口：空白与服务不足地区",
    "Isolated customers": "孤立客户",
    "Concentration": "集中度",
    "Customer segments (RFM)": "客户分群（RFM）",
    "Behaviour clusters (K-means)": "行为聚类（K-means）",
    "Lifecycle": "生命周期",
    "Lifetime value": "客户生命周期价值",
    "Channel partners: A/B/C": "渠道伙伴：A/B/C",
    # step 5 section titles (generated headings)
    "Region tiers and their evidence": "地区分级及依据",
    "Playbook and action list": "行动手册与行动清单",
    "Budget reallocation": "预算重新分配",
    "Customer campaigns": "客户活动",
    "Channel partner plans": "渠道伙伴计划",
    "Compared with an earlier run": "与较早运行的比较",
    # the brief
    "objective": "目标", "question": "问题", "region": "地区", "regions compared": "比较的地区",
    "period": "分析期", "baseline period": "基准期", "baseline": "基准",
    "customers in scope": "范围内客户数", "order lines in scope": "范围内订单行数",
    "step 5 puts first": "第5步优先展示", "yes": "有", "NO": "无", "MISSING: ": "缺少：",
    # tiers
    "core": "核心", "emerging": "新兴", "gap": "缺口", "declining": "下滑", "steady": "稳定",
    # region playbook
    "Invest and deepen: account plans for the top customers and cross-selling of the wider "
    "product range": "加大投入、深耕市场：为重点客户制定客户计划，交叉销售更多产品线",
    "Add sales reps or technical support where accounts per rep are highest":
        "在人均客户数最高的地区增加销售代表或技术支持",
    "Recruit local partners (integrators, installers) in cities not yet covered":
        "在尚未覆盖的城市招募本地伙伴（集成商、安装商）",
    "Run local events: product days and installer training": "举办本地活动：产品日和安装商培训",
    "Educate the market: case studies and webinars for integrators": "市场教育：面向集成商的案例和网络研讨会",
    "Test cheaply online (search and WeChat ads) before spending on field sales":
        "先在线低成本试水（搜索和微信广告），再投入地面销售",
    "Run one partner pilot: sign one local partner with a six-month target":
        "开展一个伙伴试点：签约一家本地伙伴并设定六个月目标",
    "Investigate first: competition, regulation, logistics or simply no coverage?":
        "先调研：是竞争、法规、物流问题，还是根本没有覆盖？",
    "Run small surveys or calls with 10-20 prospects": "对10–20个潜在客户做小规模调研或电话访问",
    "Recruit partners: shortlist and approach local distributors and integrators":
        "招募伙伴：筛选并接洽本地经销商和集成商",
    "Defend key accounts: visit the top customers and resolve service issues":
        "守住重点客户：拜访头部客户，解决服务问题",
    "Diagnose the causes with win/loss interviews": "通过赢单/丢单访谈诊断原因",
    "Maintain: keep coverage and service levels, review the region quarterly":
        "维持：保持覆盖和服务水平，每季度复盘",
    # owners
    "regional sales manager": "区域销售经理", "sales director": "销售总监",
    "channel manager": "渠道经理", "marketing": "市场部", "sales operations analyst": "销售运营分析师",
    "account manager": "客户经理", "sales rep": "销售代表",
    # KPIs of the playbooks
    "revenue growth YoY": "收入同比增长", "active customers per rep": "人均活跃客户数",
    "new customers": "新客户", "qualified leads from events": "活动带来的合格线索",
    "qualified leads": "合格线索", "cost per qualified lead": "每条合格线索成本",
    "pilot partner revenue against target": "试点伙伴收入对目标", "written diagnosis": "书面诊断",
    "response rate and qualified leads": "回复率和合格线索", "partners signed": "签约伙伴数",
    "revenue retained from the top accounts": "头部客户收入保留",
    "interviews completed and causes ranked": "完成访谈并排列原因",
    "revenue and active customers": "收入和活跃客户数", "retention and referrals": "留存和转介绍",
    "revenue per customer": "客户平均收入", "order frequency": "下单频次",
    "second order within 90 days": "90天内二次下单", "orders in the next quarter": "下季度订单",
    "reactivated customers": "重新激活的客户", "customers won back": "挽回的客户",
    "partner revenue against the joint plan": "伙伴收入对联合计划",
    "tier score and revenue growth": "分级得分和收入增长", "orders per year": "年订单数",
    # RFM segments and campaigns
    "champions": "核心客户", "loyal": "忠诚客户", "potential loyalists": "潜力客户",
    "promising": "有望客户", "need attention": "需要关注",
    "about to sleep": "即将沉睡", "cannot lose them": "不能失去", "at risk": "流失风险",
    "hibernating": "沉睡客户", "lost": "已流失",
    "vip care": "VIP维护", "upsell": "追加销售", "develop": "培养", "nurture": "培育",
    "check-in": "回访", "reactivation": "重新激活", "win back": "挽回",
    "strategic partner": "战略伙伴", "development plan": "发展计划", "maintain": "维持",
    # customer and partner playbooks
    "VIP care: named contact, early access to new products, referral ask":
        "VIP维护：专属联系人、新品优先体验、请求转介绍",
    "Upsell and cross-sell the wider range; invite to partner programme":
        "追加销售和交叉销售更多产品；邀请加入伙伴计划",
    "Develop: training offer and a volume incentive": "培养：提供培训和批量激励",
    "Nurture: onboarding call, installation support, second-order offer":
        "培育：入门电话、安装支持、二次下单优惠",
    "Nurture: product information and a follow-up call": "培育：产品资料和跟进电话",
    "Check-in call: needs, open projects, limited-time offer": "回访电话：了解需求、在谈项目，提供限时优惠",
    "Low-cost reactivation: newsletter and a targeted offer": "低成本激活：资讯邮件和定向优惠",
    "Win back now: senior visit, find out what changed, tailored offer":
        "立即挽回：高层拜访，了解变化原因，提供定制方案",
    "Win back: personal call, service review, tailored offer": "挽回：专人电话、服务回顾、定制方案",
    "Low-cost reactivation: email or WeChat campaign only": "低成本激活：仅邮件或微信推送",
    "Low-cost reactivation: include in mass mailings, no sales time": "低成本激活：纳入群发，不占用销售时间",
    "Joint annual business plan, quarterly review, priority technical support and first call "
    "on project leads in their area": "联合年度业务计划、季度复盘、优先技术支持，并优先获得其区域内的项目线索",
    "Development plan to reach A: product training and certification, co-marketing funds tied "
    "to targets, a quarterly pipeline review; work on the weakest scoring factors":
        "晋升A类的发展计划：产品培训与认证、与目标挂钩的联合市场基金、季度商机复盘；针对最弱评分因素改进",
    "Serve through distribution and online self-service; review once a year for an upgrade":
        "通过分销和在线自助服务支持；每年评估一次是否升级",
}

#: Column names of the step-1 and step-5 tables shown in reports (others via labels).
HEADERS_ZH: dict[str, str] = {
    "tier": "分级", "tier_reason": "原因", "action": "行动", "owner": "负责人",
    "owner_role": "负责岗位", "kpi": "指标", "regions": "地区", "evidence": "依据",
    "campaign": "活动", "segment": "分群", "partner_tier": "伙伴分级", "partners": "伙伴数",
    "territory": "大区", "spend": "当前费用", "new_spend": "建议费用", "change": "变化",
    "change_pct": "变化率", "roi": "投入产出比", "marginal_return": "边际回报",
    "expected_revenue_change": "预计收入变化", "basis": "依据", "floor": "下限", "cap": "上限",
    "gap_ratio": "缺口比", "gi_z": "Gi* z", "gi_bin": "Gi* 等级", "definition": "定义",
    "formula": "公式", "unit": "单位", "target": "目标", "data": "数据", "value": "值",
    "available": "可用", "found": "现有", "what it is": "说明", "step": "步骤", "first": "优先",
    "item": "项目", "factor": "因素", "B partners": "B类伙伴数",
    "tier_before": "基准分级", "tier_now": "当前分级", "customers_before": "基准客户数",
    "customers_now": "当前客户数", "revenue_before": "基准收入", "revenue_now": "当前收入",
    "revenue_change": "收入变化", "share_delta": "占比变化", "growth_yoy_delta": "增长变化",
    "newly_blank": "新增空白", "newly_hot": "新增热点",
}


def say(key: str, lang: str = "en", /, **values) -> str:
    """The sentence ``key`` in ``lang`` with ``values`` filled in."""
    entry = TEXTS[key]
    return entry.get(_lang(lang), entry["en"]).format(**values)


def join(items, lang: str = "en", *, clauses: bool = False) -> str:
    """``items`` as one list in ``lang``: ``a, b`` or ``a、b``; clauses ``a; b`` or ``a；b``."""
    if _lang(lang) == "zh":
        return ("；" if clauses else "、").join(items)
    return ("; " if clauses else ", ").join(items)


def name_list(frame: pd.DataFrame, lang: str = "en", limit: int = 6) -> str:
    """The ``region`` names of ``frame`` (``region_en`` in English), at most ``limit``.

    More rows end the list with "and N more" (等另外 N 个). Not escaped.
    """
    column = "region_en" if _lang(lang) == "en" and "region_en" in frame.columns else "region"
    names = [str(n) for n in frame[column].head(limit)]
    more = say("and_more", lang, n=len(frame) - limit) if len(frame) > limit else ""
    return join(names, lang) + more


def tr(text, lang: str = "en"):
    """``text`` in ``lang``: the Chinese phrase when there is one, else unchanged."""
    if _lang(lang) != "zh" or not isinstance(text, str):
        return text
    return ZH.get(text, text)


def headers(frame: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``frame`` with its column names (and index name) shown in ``lang``."""
    if _lang(lang) != "zh":
        return frame

    def name(column):
        if not isinstance(column, str):
            return column
        if column in HEADERS_ZH:
            return HEADERS_ZH[column]
        return LABELS[column]["zh"] if column in LABELS else column

    out = frame.rename(columns=name)
    if isinstance(out.index, pd.Index) and isinstance(out.index.name, str):
        out.index = out.index.rename(name(out.index.name))
    return out


def translate(frame: pd.DataFrame, lang: str = "en", columns=()) -> pd.DataFrame:
    """``frame`` for display in ``lang``: phrases in ``columns`` and the headers translated.

    The frame itself is not changed (its values stay the English keys that the
    exports and run comparisons use).
    """
    if _lang(lang) != "zh":
        return frame
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = out[column].map(lambda v: tr(v, "zh"))
    return headers(out, "zh")
